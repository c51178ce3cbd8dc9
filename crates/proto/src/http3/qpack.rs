//! QPACK (RFC 9204): field section decoding with the static table of Appendix A and a dynamic
//! table fed by the peer's encoder stream (insert with name reference, insert with literal name,
//! duplicate, set capacity). Integers and strings are HPACK's (RFC 7541 §5), Huffman included.
//!
//! A field section whose Required Insert Count is above what the encoder stream has inserted so
//! far is blocked: the caller keeps it and retries after more encoder-stream bytes. Bounds: table
//! capacity at most [`MAX_TABLE_CAPACITY`]; a decoded list at most
//! [`crate::http2::hpack::MAX_LIST_BYTES`]; an encoder stream instruction at most
//! [`MAX_INSTRUCTION`] bytes buffered.

use std::collections::VecDeque;

use crate::http2::hpack::{Field, HpackError, MAX_LIST_BYTES, integer, string};

/// Largest dynamic table capacity accepted.
pub const MAX_TABLE_CAPACITY: usize = 1 << 20;
/// Longest encoder-stream instruction buffered while incomplete.
pub const MAX_INSTRUCTION: usize = 64 * 1024;

/// RFC 9204 Appendix A.
const STATIC: [(&str, &str); 99] = [
    (":authority", ""),
    (":path", "/"),
    ("age", "0"),
    ("content-disposition", ""),
    ("content-length", "0"),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("referer", ""),
    ("set-cookie", ""),
    (":method", "CONNECT"),
    (":method", "DELETE"),
    (":method", "GET"),
    (":method", "HEAD"),
    (":method", "OPTIONS"),
    (":method", "POST"),
    (":method", "PUT"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "103"),
    (":status", "200"),
    (":status", "304"),
    (":status", "404"),
    (":status", "503"),
    ("accept", "*/*"),
    ("accept", "application/dns-message"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-ranges", "bytes"),
    ("access-control-allow-headers", "cache-control"),
    ("access-control-allow-headers", "content-type"),
    ("access-control-allow-origin", "*"),
    ("cache-control", "max-age=0"),
    ("cache-control", "max-age=2592000"),
    ("cache-control", "max-age=604800"),
    ("cache-control", "no-cache"),
    ("cache-control", "no-store"),
    ("cache-control", "public, max-age=31536000"),
    ("content-encoding", "br"),
    ("content-encoding", "gzip"),
    ("content-type", "application/dns-message"),
    ("content-type", "application/javascript"),
    ("content-type", "application/json"),
    ("content-type", "application/x-www-form-urlencoded"),
    ("content-type", "image/gif"),
    ("content-type", "image/jpeg"),
    ("content-type", "image/png"),
    ("content-type", "text/css"),
    ("content-type", "text/html; charset=utf-8"),
    ("content-type", "text/plain"),
    ("content-type", "text/plain;charset=utf-8"),
    ("range", "bytes=0-"),
    ("strict-transport-security", "max-age=31536000"),
    ("strict-transport-security", "max-age=31536000; includesubdomains"),
    ("strict-transport-security", "max-age=31536000; includesubdomains; preload"),
    ("vary", "accept-encoding"),
    ("vary", "origin"),
    ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"),
    (":status", "100"),
    (":status", "204"),
    (":status", "206"),
    (":status", "302"),
    (":status", "400"),
    (":status", "403"),
    (":status", "421"),
    (":status", "425"),
    (":status", "500"),
    ("accept-language", ""),
    ("access-control-allow-credentials", "FALSE"),
    ("access-control-allow-credentials", "TRUE"),
    ("access-control-allow-headers", "*"),
    ("access-control-allow-methods", "get"),
    ("access-control-allow-methods", "get, post, options"),
    ("access-control-allow-methods", "options"),
    ("access-control-expose-headers", "content-length"),
    ("access-control-request-headers", "content-type"),
    ("access-control-request-method", "get"),
    ("access-control-request-method", "post"),
    ("alt-svc", "clear"),
    ("authorization", ""),
    ("content-security-policy", "script-src 'none'; object-src 'none'; base-uri 'none'"),
    ("early-data", "1"),
    ("expect-ct", ""),
    ("forwarded", ""),
    ("if-range", ""),
    ("origin", ""),
    ("purpose", "prefetch"),
    ("server", ""),
    ("timing-allow-origin", "*"),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", ""),
    ("x-forwarded-for", ""),
    ("x-frame-options", "deny"),
    ("x-frame-options", "sameorigin"),
];

fn static_field(i: u64) -> Result<Field, HpackError> {
    let (n, v) = usize::try_from(i).ok().and_then(|i| STATIC.get(i)).ok_or(HpackError::BadIndex)?;
    Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()))
}

/// What decoding a field section gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Section {
    /// The fields.
    Fields(Vec<Field>),
    /// It needs entries the encoder stream has not inserted yet.
    Blocked,
}

/// The decoder state for the field sections one endpoint sends (its encoder stream's table).
#[derive(Debug, Default)]
pub struct Decoder {
    /// Entries, newest first.
    table: VecDeque<Field>,
    /// Entries ever inserted (the absolute index of the next one).
    inserted: u64,
    size: usize,
    capacity: usize,
    /// Encoder stream bytes not yet forming a whole instruction.
    pending: Vec<u8>,
    broken: bool,
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY of the decoding side, when its SETTINGS were seen.
    max_capacity: Option<usize>,
}

fn entry_size(f: &Field) -> usize {
    f.0.len() + f.1.len() + 32
}

impl Decoder {
    /// The decoding side's SETTINGS_QPACK_MAX_TABLE_CAPACITY (needed to read Required Insert
    /// Counts once they wrap); without it, the capacity the encoder set is used.
    pub fn set_max_capacity(&mut self, cap: u64) {
        self.max_capacity = usize::try_from(cap).ok().map(|c| c.min(MAX_TABLE_CAPACITY));
    }

    /// Entries inserted so far.
    pub fn inserted(&self) -> u64 {
        self.inserted
    }

    fn get_absolute(&self, abs: u64) -> Result<Field, HpackError> {
        let newest = self.inserted.checked_sub(1).ok_or(HpackError::BadIndex)?;
        let back = newest.checked_sub(abs).ok_or(HpackError::BadIndex)?;
        let i = usize::try_from(back).map_err(|_| HpackError::BadIndex)?;
        self.table.get(i).cloned().ok_or(HpackError::BadIndex)
    }

    fn insert(&mut self, f: Field) -> Result<(), HpackError> {
        let sz = entry_size(&f);
        if sz > self.capacity {
            return Err(HpackError::TableSize);
        }
        while self.size + sz > self.capacity {
            let Some(old) = self.table.pop_back() else { break };
            self.size -= entry_size(&old);
        }
        self.size += sz;
        self.table.push_front(f);
        self.inserted += 1;
        Ok(())
    }

    /// Bytes of the peer's encoder stream.
    ///
    /// # Errors
    /// A malformed instruction, a bad reference or capacity: the table can no longer be trusted,
    /// and every later call fails too.
    pub fn encoder_stream(&mut self, data: &[u8]) -> Result<(), HpackError> {
        if self.broken {
            return Err(HpackError::Truncated);
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(data);
        let mut at = 0;
        let result = loop {
            match self.instruction(&pending[at..]) {
                Ok(Some(used)) => at += used,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        pending.drain(..at);
        self.pending = pending;
        if result.is_err() || self.pending.len() > MAX_INSTRUCTION {
            self.broken = true;
            return Err(result.err().unwrap_or(HpackError::TooLarge));
        }
        Ok(())
    }

    /// One instruction at the start of `b`: bytes used, `None` when incomplete.
    fn instruction(&mut self, b: &[u8]) -> Result<Option<usize>, HpackError> {
        let Some(&first) = b.first() else { return Ok(None) };
        let done = |r: Result<usize, HpackError>| match r {
            Err(HpackError::Truncated) => Ok(None),
            Err(e) => Err(e),
            Ok(n) => Ok(Some(n)),
        };
        if first & 0xc0 != 0 {
            let r = (|| {
                let mut name = Vec::new();
                let mut used = if first & 0x80 != 0 {
                    // Insert with name reference: T bit 0x40, 6-bit index.
                    let (idx, used) = integer(b, 6)?;
                    name = if first & 0x40 != 0 {
                        static_field(idx)?.0
                    } else {
                        let abs = self.inserted.checked_sub(1 + idx).ok_or(HpackError::BadIndex)?;
                        self.get_absolute(abs)?.0
                    };
                    used
                } else {
                    // Insert with literal name: H bit 0x20, 5-bit name length.
                    string(b, 5, &mut name, MAX_LIST_BYTES)?
                };
                let mut value = Vec::new();
                used += string(&b[used..], 7, &mut value, MAX_LIST_BYTES)?;
                Ok((used, (name, value)))
            })();
            return match r {
                Ok((n, f)) => {
                    self.insert(f)?;
                    Ok(Some(n))
                }
                Err(e) => done(Err(e)),
            };
        }
        if first & 0x20 != 0 {
            // Set dynamic table capacity.
            return match integer(b, 5) {
                Ok((cap, n)) => {
                    let cap = usize::try_from(cap).map_err(|_| HpackError::TableSize)?;
                    if cap > MAX_TABLE_CAPACITY {
                        return Err(HpackError::TableSize);
                    }
                    self.capacity = cap;
                    while self.size > cap {
                        let Some(old) = self.table.pop_back() else { break };
                        self.size -= entry_size(&old);
                    }
                    Ok(Some(n))
                }
                Err(e) => done(Err(e)),
            };
        }
        // Duplicate.
        match integer(b, 5) {
            Ok((idx, n)) => {
                let abs = self.inserted.checked_sub(1 + idx).ok_or(HpackError::BadIndex)?;
                let f = self.get_absolute(abs)?;
                self.insert(f)?;
                Ok(Some(n))
            }
            Err(e) => done(Err(e)),
        }
    }

    /// Decodes one field section (the payload of a HEADERS frame).
    ///
    /// # Errors
    /// A malformed section or a bad reference.
    pub fn section(&self, block: &[u8]) -> Result<Section, HpackError> {
        let (encoded_ric, mut at) = integer(block, 8)?;
        let Some(ric) = self.required_insert_count(encoded_ric)? else {
            return Ok(Section::Blocked);
        };
        if ric > self.inserted {
            return Ok(Section::Blocked);
        }
        let rest = block.get(at..).ok_or(HpackError::Truncated)?;
        let sign = rest.first().ok_or(HpackError::Truncated)? & 0x80 != 0;
        let (delta, n) = integer(rest, 7)?;
        at += n;
        let base = if sign {
            ric.checked_sub(delta + 1).ok_or(HpackError::BadIndex)?
        } else {
            ric.checked_add(delta).ok_or(HpackError::BadIndex)?
        };
        let mut fields = Vec::new();
        let mut total = 0usize;
        let mut b = block.get(at..).unwrap_or_default();
        while let Some(&first) = b.first() {
            let (field, used) = if first & 0x80 != 0 {
                let (idx, used) = integer(b, 6)?;
                let f = if first & 0x40 != 0 {
                    static_field(idx)?
                } else {
                    self.get_absolute(base.checked_sub(1 + idx).ok_or(HpackError::BadIndex)?)?
                };
                (f, used)
            } else if first & 0x40 != 0 {
                let (idx, mut used) = integer(b, 4)?;
                let name = if first & 0x10 != 0 {
                    static_field(idx)?.0
                } else {
                    self.get_absolute(base.checked_sub(1 + idx).ok_or(HpackError::BadIndex)?)?.0
                };
                let mut value = Vec::new();
                used += string(&b[used..], 7, &mut value, MAX_LIST_BYTES - total)?;
                ((name, value), used)
            } else if first & 0x20 != 0 {
                let mut name = Vec::new();
                let mut used = string(b, 3, &mut name, MAX_LIST_BYTES - total)?;
                let mut value = Vec::new();
                used += string(
                    b.get(used..).ok_or(HpackError::Truncated)?,
                    7,
                    &mut value,
                    MAX_LIST_BYTES - total,
                )?;
                ((name, value), used)
            } else if first & 0x10 != 0 {
                let (idx, used) = integer(b, 4)?;
                (self.get_absolute(base.checked_add(idx).ok_or(HpackError::BadIndex)?)?, used)
            } else {
                let (idx, mut used) = integer(b, 3)?;
                let name = self.get_absolute(base.checked_add(idx).ok_or(HpackError::BadIndex)?)?.0;
                let mut value = Vec::new();
                used += string(&b[used..], 7, &mut value, MAX_LIST_BYTES - total)?;
                ((name, value), used)
            };
            total += field.0.len() + field.1.len();
            if total > MAX_LIST_BYTES {
                return Err(HpackError::TooLarge);
            }
            fields.push(field);
            b = &b[used..];
        }
        Ok(Section::Fields(fields))
    }

    /// Required Insert Count from its encoding (RFC 9204 §4.5.1.1).
    /// `None` when it cannot be known yet (no capacity known).
    fn required_insert_count(&self, encoded: u64) -> Result<Option<u64>, HpackError> {
        if encoded == 0 {
            return Ok(Some(0));
        }
        let max_entries = (self.max_capacity.unwrap_or(self.capacity) / 32) as u64;
        if max_entries == 0 {
            return Ok(None);
        }
        let full_range = 2 * max_entries;
        if encoded > full_range {
            return Err(HpackError::BadIndex);
        }
        let max_value = self.inserted + max_entries;
        let max_wrapped = (max_value / full_range) * full_range;
        let mut ric = max_wrapped + encoded - 1;
        if ric > max_value {
            if ric <= full_range {
                return Err(HpackError::BadIndex);
            }
            ric -= full_range;
        }
        if ric == 0 {
            return Err(HpackError::BadIndex);
        }
        Ok(Some(ric))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        crate::tls::keylog::unhex(s.as_bytes()).unwrap()
    }

    fn text(f: &[Field]) -> Vec<(String, String)> {
        f.iter()
            .map(|(n, v)| (String::from_utf8_lossy(n).into(), String::from_utf8_lossy(v).into()))
            .collect()
    }

    #[test]
    fn rfc9204_b1_literal_with_static_name_reference() {
        let d = Decoder::default();
        let Section::Fields(f) = d.section(&hex("0000 510b 2f69 6e64 6578 2e68 746d 6c")).unwrap()
        else {
            panic!("blocked")
        };
        assert_eq!(text(&f), vec![(":path".into(), "/index.html".into())]);
    }

    #[test]
    fn rfc9204_b2_dynamic_table() {
        // The capacity the decoder allows is 220 in the example; the encoder sets it.
        let mut d = Decoder::default();
        d.encoder_stream(&hex(
            "3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468",
        ))
        .unwrap();
        assert_eq!(d.inserted(), 2);
        let Section::Fields(f) = d.section(&hex("0381 10 11")).unwrap() else { panic!("blocked") };
        assert_eq!(
            text(&f),
            vec![
                (":authority".into(), "www.example.com".into()),
                (":path".into(), "/sample/path".into()),
            ]
        );
        // B.3: insert with literal name, duplicate.
        d.encoder_stream(&hex("4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565"))
            .unwrap();
        d.encoder_stream(&hex("02")).unwrap();
        assert_eq!(d.inserted(), 4);
        let Section::Fields(f) = d.section(&hex("0500 80 c1 81")).unwrap() else {
            panic!("blocked")
        };
        assert_eq!(text(&f)[2], ("custom-key".into(), "custom-value".into()));
    }

    #[test]
    fn blocked_until_the_encoder_stream_catches_up() {
        let mut d = Decoder::default();
        // A section needing 2 inserts before any arrived.
        assert_eq!(d.section(&hex("0381 10 11")).unwrap(), Section::Blocked);
        // An instruction split at every byte.
        let ins = hex(
            "3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468",
        );
        for b in &ins {
            d.encoder_stream(&[*b]).unwrap();
        }
        assert!(matches!(d.section(&hex("0381 10 11")).unwrap(), Section::Fields(_)));
    }

    #[test]
    fn hostile_input() {
        let mut d = Decoder::default();
        assert!(d.section(&hex("00 00 ff 7f")).is_err(), "static index out of range");
        assert!(d.encoder_stream(&hex("3f ff ff ff 0f")).is_err(), "capacity too large");
        assert!(d.encoder_stream(&hex("00")).is_err(), "broken decoders stay broken");
        for n in 0..20 {
            let _ = Decoder::default()
                .section(&hex("0000 510b 2f69 6e64 6578 2e68 746d 6c")[..n.min(13)]);
        }
    }
}
