//! Typed pairs: a value under a key that says only "the value" (`value`, `v`, `id`, `u`...)
//! named by a type key just before it in the same object or query (`{"type":"gaid",
//! "value":"…"}`, `k=AIFA&u=…`, `{"idType":"imei","id":"…"}`). The value's location then carries
//! the type in brackets (`http.json:ids.value[gaid]`, `http.query:u[AIFA]`), which the
//! heuristics read as a key path whose last segment is the type. Only a type written before the
//! value counts (the walk is one pass).

/// Longest type name taken, in bytes.
pub(super) const MAX_TYPE_LEN: usize = 32;

/// The lower-case alphanumeric bytes of `key` when they fit 16 bytes (every type and value key
/// does), with their count.
fn normalized(key: &[u8]) -> Option<([u8; 16], usize)> {
    if key.is_empty() || key.len() > 16 {
        return None;
    }
    let mut buf = [0u8; 16];
    let mut n = 0;
    for &b in key.iter().filter(|b| b.is_ascii_alphanumeric()) {
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    Some((buf, n))
}

// Type keys and value keys, as `match`es on the normalised bytes: they run for every JSON value,
// and a list of slices compared one by one showed in profiles.

/// A normalised key that names the type of a sibling value.
fn type_word(w: &[u8]) -> bool {
    matches!(
        w,
        b"type"
            | b"kind"
            | b"typ"
            | b"t"
            | b"k"
            | b"key"
            | b"idtype"
            | b"idkind"
            | b"idname"
            | b"keytype"
    )
}

/// A normalised key that says only "the value".
fn value_word(w: &[u8]) -> bool {
    matches!(w, b"value" | b"val" | b"v" | b"id" | b"u" | b"data" | b"identifier" | b"idvalue")
}

/// `v` as a type name: 1..=[`MAX_TYPE_LEN`] letters, digits, `_`, `-`, starting with a letter.
pub(super) fn type_name(v: &[u8]) -> Option<&str> {
    let ok = !v.is_empty()
        && v.len() <= MAX_TYPE_LEN
        && v[0].is_ascii_alphabetic()
        && v.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    ok.then(|| std::str::from_utf8(v).ok()).flatten()
}

/// Remembers the last type named in one object or query and types the value keys after it.
/// The name is held inline (it is at most [`MAX_TYPE_LEN`] bytes): telemetry arrays repeat
/// `{"t":…,"k":"v12"}` thousands of times, and a heap copy per object showed in profiles.
#[derive(Debug, Default)]
pub(super) struct Typer {
    typed: [u8; MAX_TYPE_LEN],
    /// Length of the name in `typed`; 0 when no type is named.
    len: u8,
}

impl Typer {
    /// Sees one `key`/`value` pair; returns the type the value should carry, if any. Runs for
    /// every JSON value: a key whose first letter starts no type or value key (`t`, `k`, `i`,
    /// `v`, `u`, `d`, any case, after `_` or `$`) is rejected before any work.
    pub(super) fn see(&mut self, key: &[u8], value: &[u8]) -> Option<&str> {
        let first = key.iter().find(|b| b.is_ascii_alphanumeric()).map(u8::to_ascii_lowercase);
        if !matches!(first, Some(b't' | b'k' | b'i' | b'v' | b'u' | b'd')) {
            return None;
        }
        // Keys mostly come lower-case and alphanumeric already: matched as they are (a byte
        // buffer written byte by byte and read back whole stalls the load).
        let plain = key.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let buf;
        let norm = if plain {
            key
        } else {
            buf = normalized(key)?;
            &buf.0[..buf.1]
        };
        if type_word(norm) {
            let name = type_name(value).map_or(&[][..], str::as_bytes);
            self.typed[..name.len()].copy_from_slice(name);
            self.len = name.len() as u8;
            return None;
        }
        if self.len == 0 || !value_word(norm) {
            return None;
        }
        // Only a `type_name` (ASCII) was copied in.
        std::str::from_utf8(&self.typed[..usize::from(self.len)]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_the_value_keys_after_a_type_key() {
        let mut t = Typer::default();
        assert_eq!(t.see(b"u", b"x"), None);
        assert_eq!(t.see(b"k", b"AIFA"), None);
        assert_eq!(t.see(b"u", b"38400000-8cf0-11bd-b23e-10b96e4ef00d"), Some("AIFA"));
        assert_eq!(t.see(b"other", b"1"), None);
        assert_eq!(t.see(b"id_type", b"not a name!"), None);
        assert_eq!(t.see(b"value", b"x"), None, "a bad type name clears the type");
        assert_eq!(t.see(b"Type", b"gaid"), None);
        assert_eq!(t.see(b"Value", b"x"), Some("gaid"));
        assert_eq!(t.see(b"a_very_long_type_key_name", b"imei"), None);
        assert_eq!(t.see(b"value", b"x"), Some("gaid"), "a long key names no type");
        assert_eq!(type_name(&[b'a'; 33]), None);
    }
}
