//! The static Huffman code of HPACK (RFC 7541 Appendix B), shared by QPACK (RFC 9204 §4.1.2).
//!
//! The code is canonical (codes of one length are consecutive, in symbol order), so the table is
//! just the 257 code lengths of Appendix B; codes are rebuilt from them once, and decoding walks
//! the canonical code a bit at a time. Header strings are short; this is not on a hot path.

use std::sync::OnceLock;

/// Bit length of each symbol's code (RFC 7541 Appendix B); symbol 256 is EOS.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240
    30, // EOS
];

const MAX_LEN: usize = 30;
const EOS: u16 = 256;

/// Canonical decoding tables.
struct Table {
    /// First code of each length.
    first: [u32; MAX_LEN + 1],
    /// Number of codes of each length.
    count: [u32; MAX_LEN + 1],
    /// Index in `symbols` of the first symbol of each length.
    start: [usize; MAX_LEN + 1],
    /// Symbols ordered by (length, symbol).
    symbols: Vec<u16>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            first: [0; MAX_LEN + 1],
            count: [0; MAX_LEN + 1],
            start: [0; MAX_LEN + 1],
            symbols: Vec::with_capacity(257),
        };
        for &l in &LENGTHS {
            t.count[usize::from(l)] += 1;
        }
        let mut code = 0u32;
        for len in 1..=MAX_LEN {
            code = (code + t.count[len - 1]) << 1;
            t.first[len] = code;
            t.start[len] = t.symbols.len();
            for (sym, &l) in LENGTHS.iter().enumerate() {
                if usize::from(l) == len {
                    t.symbols.push(sym as u16);
                }
            }
        }
        t
    })
}

/// The code of a symbol, right-aligned, and its length (tests and the test encoder).
#[cfg(test)]
pub(crate) fn code_of(sym: u16) -> (u32, u8) {
    let t = table();
    let len = LENGTHS[usize::from(sym)];
    let l = usize::from(len);
    let pos = t.symbols[t.start[l]..].iter().position(|&s| s == sym).unwrap_or(0);
    (t.first[l] + pos as u32, len)
}

/// Decodes a Huffman-coded string, appending to `out`; `None` if it is invalid (an EOS symbol,
/// padding longer than 7 bits or not all ones, a code that is not in the table). `out` stops
/// growing at `max` bytes (`None` then too).
pub(crate) fn decode(input: &[u8], out: &mut Vec<u8>, max: usize) -> Option<()> {
    let t = table();
    let (mut code, mut len) = (0u32, 0usize);
    for &byte in input {
        for shift in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> shift) & 1);
            len += 1;
            if len > MAX_LEN {
                return None;
            }
            let off = code.wrapping_sub(t.first[len]);
            if code >= t.first[len] && off < t.count[len] {
                let sym = t.symbols[t.start[len] + off as usize];
                if sym == EOS || out.len() >= max {
                    return None;
                }
                out.push(sym as u8);
                code = 0;
                len = 0;
            }
        }
    }
    // Padding: at most 7 bits, all ones (the start of EOS).
    (len <= 7 && code == (1u32 << len) - 1).then_some(())
}

/// Encodes `input` (the test encoders of HPACK and QPACK).
#[cfg(test)]
pub(crate) fn encode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let (mut acc, mut bits) = (0u64, 0u32);
    for &b in input {
        let (code, len) = code_of(u16::from(b));
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        let pad = 8 - bits;
        out.push(((acc << pad) | ((1 << pad) - 1)) as u8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_appendix_b() {
        assert_eq!(code_of(0), (0x1ff8, 13));
        assert_eq!(code_of(1), (0x7fffd8, 23));
        assert_eq!(code_of(b'0'.into()), (0x0, 5));
        assert_eq!(code_of(b'a'.into()), (0x3, 5));
        assert_eq!(code_of(b'&'.into()), (0xf8, 8));
        assert_eq!(code_of(135), (0x7fffd9, 23));
        assert_eq!(code_of(255), (0x3ffffee, 26));
        assert_eq!(code_of(EOS), (0x3fffffff, 30));
        // A complete prefix code: Kraft sum exactly 1.
        let kraft: f64 = LENGTHS.iter().map(|&l| 0.5f64.powi(i32::from(l))).sum();
        assert!((kraft - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rfc7541_c4_strings() {
        // RFC 7541 C.4.1: "www.example.com".
        let coded = [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff];
        let mut out = Vec::new();
        decode(&coded, &mut out, 100).unwrap();
        assert_eq!(out, b"www.example.com");
        assert_eq!(encode(b"www.example.com"), coded);
        // C.4.2: "no-cache".
        let mut out = Vec::new();
        decode(&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf], &mut out, 100).unwrap();
        assert_eq!(out, b"no-cache");
    }

    #[test]
    fn every_byte_round_trips_and_bad_padding_fails() {
        let all: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        decode(&encode(&all), &mut out, 1000).unwrap();
        assert_eq!(out, all);
        // Padding of zeros, and a whole byte of padding, are invalid.
        // 0b00000_000: '0', then padding of zeros.
        assert!(decode(&[0x00], &mut Vec::new(), 10).is_none());
        // 0b11111111: eight bits of padding.
        assert!(decode(&[0xff], &mut Vec::new(), 10).is_none());
        // 0b00011_111: 'a', then three bits of ones.
        let mut a = Vec::new();
        assert!(decode(&[0x1f], &mut a, 10).is_some());
        assert_eq!(a, b"a");
        assert!(decode(&[0xff, 0xff, 0xff, 0xff], &mut Vec::new(), 10).is_none()); // EOS
        assert!(decode(&encode(b"abc"), &mut Vec::new(), 2).is_none()); // over max
    }
}
