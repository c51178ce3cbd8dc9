//! Byte-level encoders used by the encoding table: hex, percent (URL) encoding, JSON string
//! escaping, base64 at the three alignments, digests.

use base64::Engine;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Hex of `data`, lower or upper case.
pub(crate) fn hex(data: &[u8], upper: bool) -> Vec<u8> {
    let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut out = Vec::with_capacity(data.len() * 2);
    for &b in data {
        out.push(digits[usize::from(b >> 4)]);
        out.push(digits[usize::from(b & 15)]);
    }
    out
}

/// Percent-encodes every byte but the RFC 3986 unreserved ones (`A-Z a-z 0-9 - . _ ~`), in
/// upper- or lower-case hex; a space becomes `+` (HTML forms) or `%20`.
pub(crate) fn url(data: &[u8], upper: bool, space_plus: bool) -> Vec<u8> {
    let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut out = Vec::with_capacity(data.len() * 3);
    for &b in data {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else if b == b' ' && space_plus {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[
                b'%',
                digits[usize::from(b >> 4)],
                digits[usize::from(b & 15)],
            ]);
        }
    }
    out
}

/// The inside of a JSON string holding `text`: `"`, `\` and control characters escaped; `/` as
/// `\/` when `slash`; non-ASCII as `\uXXXX` (UTF-16 units, lower- or upper-case hex) when
/// `ascii`, else kept as UTF-8.
pub(crate) fn json(text: &str, ascii: bool, upper: bool, slash: bool) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + 8);
    let unit = |out: &mut String, u: u16| {
        if upper {
            out.push_str(&format!("\\u{u:04X}"));
        } else {
            out.push_str(&format!("\\u{u:04x}"));
        }
    };
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => unit(&mut out, c as u16),
            c if ascii && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for &u in c.encode_utf16(&mut buf).iter() {
                    unit(&mut out, u);
                }
            }
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// The base64 engines: (standard, URL-safe) x (padded, unpadded).
pub(crate) fn base64(data: &[u8], url_safe: bool, pad: bool) -> Vec<u8> {
    let engine: &GeneralPurpose = match (url_safe, pad) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.encode(data).into_bytes()
}

/// The base64 characters that `data` alone determines when it sits at byte offset `k` (0, 1 or
/// 2) modulo 3 inside a longer plaintext: characters mixing bits of the neighbouring bytes are
/// dropped at both ends. Character `j` covers bits `6j..6j+6` of the 3-byte group run the value
/// starts in; the value covers bits `8k..8(k+n)`.
pub(crate) fn base64_aligned(data: &[u8], k: usize, url_safe: bool) -> Vec<u8> {
    let n = data.len();
    let first = (8 * k).div_ceil(6);
    let end = (8 * (k + n)) / 6;
    if end <= first {
        return Vec::new();
    }
    let mut padded = vec![0u8; k];
    padded.extend_from_slice(data);
    padded.resize(padded.len().div_ceil(3) * 3, 0);
    let all = base64(&padded, url_safe, false);
    all.get(first..end).map(<[u8]>::to_vec).unwrap_or_default()
}

/// MD5, SHA-1 and SHA-256 of one form.
pub(crate) struct Digests {
    pub(crate) md5: [u8; 16],
    pub(crate) sha1: [u8; 20],
    pub(crate) sha256: [u8; 32],
}

impl Digests {
    pub(crate) fn of(data: &[u8]) -> Self {
        use sha2::Digest;
        let mut d = Self { md5: [0; 16], sha1: [0; 20], sha256: [0; 32] };
        d.md5.copy_from_slice(&md5::Md5::digest(data));
        d.sha1.copy_from_slice(&sha1::Sha1::digest(data));
        d.sha256.copy_from_slice(&sha2::Sha256::digest(data));
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_flavours() {
        assert_eq!(url(b"+886 9/\xe9", true, true), b"%2B886+9%2F%E9");
        assert_eq!(url(b"+886 9", false, false), b"%2b886%209");
        assert_eq!(url(b"a-b.c_d~e", true, true), b"a-b.c_d~e");
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json("陳 a/\"", true, false, true), b"\\u9673 a\\/\\\"");
        assert_eq!(json("陳", false, false, false), "陳".as_bytes());
        assert_eq!(json("😀\x01", true, true, false), b"\\uD83D\\uDE00\\u0001");
    }

    #[test]
    fn hex_and_base64() {
        assert_eq!(hex(&[0x0a, 0xbc], false), b"0abc");
        assert_eq!(hex(&[0x0a, 0xbc], true), b"0ABC");
        assert_eq!(base64(b"\xfb\xff", false, true), b"+/8=");
        assert_eq!(base64(b"\xfb\xff", true, false), b"-_8");
        // "abc" at offset 1: "xabc.." -> bits of 'x' mix into the first two characters.
        let whole = base64(b"xabcyy", false, false);
        let frag = base64_aligned(b"abc", 1, false);
        assert!(!frag.is_empty() && whole.windows(frag.len()).any(|w| w == frag));
        assert!(base64_aligned(b"a", 1, false).is_empty());
        assert_eq!(base64_aligned(b"a", 2, false).len(), 1);
    }
}
