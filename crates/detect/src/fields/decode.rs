//! Decoders for nested values: percent-encoding, base64, gzip/zlib, and the form shape test.
//! Every decoder is total (no panic on any input) and bounded by its caller's cap.

use crate::hex_val;
use std::io::Read;

/// True when `s` holds a `%XX` escape (X a hex digit), or a `+` when `plus` is set.
pub(super) fn has_url_escape(s: &[u8], plus: bool) -> bool {
    if plus && memchr::memchr(b'+', s).is_some() {
        return true;
    }
    memchr::memchr_iter(b'%', s).any(|i| {
        s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    })
}

/// Percent-decodes `s` (`+` as space when `plus`); invalid escapes are kept as they are. The
/// output is never longer than the input.
pub(super) fn url_decode(s: &[u8], plus: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%'
            && s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            out.push(hex_val(s[i + 1]) << 4 | hex_val(s[i + 2]));
            i += 3;
        } else {
            out.push(if plus && b == b'+' { b' ' } else { b });
            i += 1;
        }
    }
    out
}

/// Shortest base64 text (padding excluded) tried as a nested encoding.
pub(super) const MIN_BASE64_LEN: usize = 12;

/// Decodes `s` as base64 (standard or URL-safe alphabet, padded or not) when it looks like it:
/// at least [`MIN_BASE64_LEN`] characters of one alphabet, a possible length, both letter cases.
/// Returns `None` when it does not look like base64. The output is shorter than the input.
pub(super) fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let t = s.strip_suffix(b"==").or_else(|| s.strip_suffix(b"=")).unwrap_or(s);
    if t.len() < MIN_BASE64_LEN || t.len() % 4 == 1 {
        return None;
    }
    let (mut std_chars, mut url_chars, mut upper, mut lower) = (false, false, false, false);
    for &b in t {
        match b {
            b'0'..=b'9' => {}
            b'A'..=b'Z' => upper = true,
            b'a'..=b'z' => lower = true,
            b'+' | b'/' => std_chars = true,
            b'-' | b'_' => url_chars = true,
            _ => return None,
        }
    }
    // Base64 of 9 bytes or more has both letter cases but for about one value in 200; words,
    // identifiers and numbers usually do not.
    if !(upper && lower) || (std_chars && url_chars) {
        return None;
    }
    let val = |b: u8| -> u32 {
        u32::from(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            _ => 63,
        })
    };
    let mut out = Vec::with_capacity(t.len() / 4 * 3 + 2);
    for q in t.chunks(4) {
        let n = q.iter().fold(0u32, |acc, &b| acc << 6 | val(b)) << (6 * (4 - q.len()));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..q.len() - 1]);
    }
    Some(out)
}

/// Most pieces [`token_pieces`] splits a value into.
const MAX_TOKEN_PIECES: usize = 5;

/// The pieces of a value made of 2 to [`MAX_TOKEN_PIECES`] words separated by one space or by
/// dots (`Basic dXNlcjpwYXNz`, a JWT `header.payload.signature`), when it has no other separator:
/// each may be base64 on its own.
pub(super) fn token_pieces(s: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    let sep = |b: &u8| *b == b' ' || *b == b'.';
    let n = s.iter().filter(|b| sep(b)).count();
    if n == 0 || n >= MAX_TOKEN_PIECES {
        return None;
    }
    let ok = s.iter().all(|&b| sep(&b) || b.is_ascii_alphanumeric() || b"+/-_=".contains(&b));
    ok.then(|| s.split(sep).filter(|p| p.len() >= MIN_BASE64_LEN))
}

/// True when `data` cannot hold a nested encoding: most values are short counters and names,
/// too short for base64 and without the `%`, `=`, `{` or `[` every other nesting needs, or a
/// compression magic. One pass decides.
pub(super) fn nothing_nested(data: &[u8]) -> bool {
    data.len() < MIN_BASE64_LEN
        && !data.iter().any(|b| matches!(b, b'%' | b'=' | b'{' | b'['))
        && !is_gzip(data)
        && !is_zlib(data)
}

/// True when decoded bytes are worth searching: a compression magic, JSON, or mostly text.
pub(super) fn worth_searching(d: &[u8]) -> bool {
    if is_gzip(d) || is_zlib(d) {
        return true;
    }
    if matches!(d.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'[')) {
        return true;
    }
    if d.is_empty() {
        return false;
    }
    let is_text = |b: u8| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\r' | b'\n');
    let ascii_text = d.iter().filter(|&&b| is_text(b)).count();
    if ascii_text * 10 >= d.len() * 9 {
        return true;
    }
    // Non-ASCII text: valid UTF-8, mostly not control characters.
    match std::str::from_utf8(d) {
        Ok(s) => {
            s.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n')).count() * 10
                >= s.chars().count() * 9
        }
        Err(_) => false,
    }
}

/// Gzip magic (`1f 8b 08`).
pub(super) fn is_gzip(d: &[u8]) -> bool {
    d.starts_with(&[0x1f, 0x8b, 0x08])
}

/// Shortest zlib stream: header (2), an empty final block (1 or more), Adler-32 (4).
const MIN_ZLIB_LEN: usize = 7;

/// A zlib stream start: deflate method, window ≤ 32 KiB, valid check bits, no preset dictionary
/// (which nobody could inflate), a first block of a valid type, and not plain text. About one
/// text value in 200 has a valid header by chance (`80…`, `hb…`, `x^…`), and each inflate
/// attempt costs a 40 KiB inflater; a real stream has a byte outside printable ASCII in its
/// first ten (its header's check byte unless that is `^`, else its deflate bits).
pub(super) fn is_zlib(d: &[u8]) -> bool {
    const FDICT: u8 = 0x20;
    let [cmf, flg, block, ..] = *d else { return false };
    cmf & 0x0f == 8
        && cmf >> 4 <= 7
        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
        && flg & FDICT == 0
        && (block >> 1) & 0b11 != 0b11
        && d.len() >= MIN_ZLIB_LEN
        && !d[..d.len().min(10)].iter().all(|b| (0x20..0x7f).contains(b))
}

/// Inflates a gzip or zlib stream into at most `cap` bytes. Returns the bytes inflated (what came
/// out before an error or the end of a truncated stream included) and whether `cap` cut it.
pub(super) fn inflate(d: &[u8], cap: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut r: Box<dyn Read + '_> = if is_gzip(d) {
        Box::new(flate2::read::GzDecoder::new(d))
    } else {
        Box::new(flate2::read::ZlibDecoder::new(d))
    };
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return (out, false),
            Ok(n) => {
                let room = cap - out.len();
                if n > room {
                    out.extend_from_slice(&buf[..room]);
                    return (out, true);
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
    }
}

/// Longest key accepted in the form shape test.
const MAX_FORM_KEY: usize = 64;

/// True when `s` looks like `k=v&k2=v2`: printable, every pair has a key of name characters, and
/// it is not just a padded base64 string (`abc=`).
pub(super) fn looks_like_form(s: &[u8]) -> bool {
    if memchr::memchr(b'=', s).is_none() || !s.iter().all(|b| (0x21..0x7f).contains(b)) {
        return false;
    }
    let mut pairs = 0;
    let mut some_value = false;
    for pair in s.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let Some(eq) = memchr::memchr(b'=', pair) else { return false };
        let (k, v) = (&pair[..eq], &pair[eq + 1..]);
        let key_ok = !k.is_empty()
            && k.len() <= MAX_FORM_KEY
            && k.iter().all(|b| b.is_ascii_alphanumeric() || b"_.-[]%~".contains(b));
        if !key_ok {
            return false;
        }
        pairs += 1;
        some_value |= v.iter().any(|&b| b != b'=');
    }
    pairs > 0 && some_value
}

/// `k=v` pairs of a query string or form body (empty pieces skipped; a piece without `=` is a
/// value with an empty key).
pub(super) fn pairs(s: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    s.split(|&b| b == b'&').filter(|p| !p.is_empty()).map(|p| match memchr::memchr(b'=', p) {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (&p[..0], p),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zlib(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn zlib_streams_are_recognised_and_text_with_a_valid_header_is_not() {
        let text = b"{\"imei\":\"490154203237518\",\"events\":[1,2,3]}";
        for level in [0, 1, 6, 9] {
            let z = zlib(text, level);
            assert!(is_zlib(&z), "level {level}: {:02x?}", &z[..4]);
            assert_eq!(inflate(&z, 1 << 20).0, text);
        }
        // Valid zlib headers by chance, in text: not worth a 40 KiB inflater.
        for s in ["80123", "8O-lorem-ipsum", "hbcdefgh", "x^abcdefgh", "HKabcdefg", "XGabcdefg"] {
            assert!(!is_zlib(s.as_bytes()), "{s}");
        }
        // A preset dictionary, a reserved block type, too short.
        assert!(!is_zlib(&[0x78, 0xbb, 0x01, 0, 0, 0, 0, 1]));
        assert!(!is_zlib(&[0x78, 0x9c, 0x07, 0, 0, 0, 0, 1]));
        assert!(!is_zlib(&[0x78, 0x9c, 0x03, 0]));
    }
}
