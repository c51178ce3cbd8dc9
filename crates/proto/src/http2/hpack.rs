//! HPACK header block decoding (RFC 7541): indexed fields, literals with and without indexing,
//! dynamic table size updates, the static table of Appendix A and the dynamic table with eviction.
//!
//! Own decoder: the HPACK crates are stale (`hpack` 2015) or young, the h2 crate keeps its decoder
//! private, and QPACK (`crate::http3`) shares the Huffman code and the static-table style.
//!
//! Bounds: the dynamic table may be set up to [`MAX_TABLE_SIZE`] (larger size updates are
//! errors; browsers use 4,096 or 65,536); a decoded header list is at most [`MAX_LIST_BYTES`]
//! (indexed fields can amplify a small block). Integers are limited to 2^32. Errors leave the
//! decoder unusable (the HPACK state can no longer be trusted), as the RFC says.

use std::collections::VecDeque;

use super::huffman;

/// Largest dynamic table accepted (bytes as RFC 7541 §4.1 counts them).
pub const MAX_TABLE_SIZE: usize = 1 << 20;
/// Largest decoded header list (names and values) of one block.
pub const MAX_LIST_BYTES: usize = 256 * 1024;
/// The dynamic table size before any update (SETTINGS_HEADER_TABLE_SIZE default).
pub const DEFAULT_TABLE_SIZE: usize = 4096;

/// RFC 7541 Appendix A.
pub(crate) const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Why a header block could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HpackError {
    /// The block ends inside a representation.
    Truncated,
    /// An index that is in neither table.
    BadIndex,
    /// An invalid Huffman string.
    Huffman,
    /// An integer over 2^32.
    Overflow,
    /// A size update over the limit, or not at the start of the block.
    TableSize,
    /// The decoded list exceeds [`MAX_LIST_BYTES`].
    TooLarge,
}

/// Integer with an `n`-bit prefix (RFC 7541 §5.1); returns the value and bytes used.
pub(crate) fn integer(buf: &[u8], n: u8) -> Result<(u64, usize), HpackError> {
    let first = *buf.first().ok_or(HpackError::Truncated)?;
    let max = (1u64 << n) - 1;
    let mut v = u64::from(first) & max;
    if v < max {
        return Ok((v, 1));
    }
    let mut shift = 0u32;
    for (i, &b) in buf.iter().enumerate().skip(1) {
        v += u64::from(b & 0x7f) << shift;
        if v > u64::from(u32::MAX) {
            return Err(HpackError::Overflow);
        }
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
        shift += 7;
        if shift > 28 {
            return Err(HpackError::Overflow);
        }
    }
    Err(HpackError::Truncated)
}

/// A string literal (RFC 7541 §5.2) with a `n`-bit length prefix after the Huffman flag, whose
/// flag is bit `n` of the first byte. Appends to `out`; returns bytes used.
pub(crate) fn string(
    buf: &[u8],
    n: u8,
    out: &mut Vec<u8>,
    max: usize,
) -> Result<usize, HpackError> {
    let first = *buf.first().ok_or(HpackError::Truncated)?;
    let huff = first & (1 << n) != 0;
    let (len, used) = integer(buf, n)?;
    let len = usize::try_from(len).map_err(|_| HpackError::Overflow)?;
    let end = used.checked_add(len).ok_or(HpackError::Overflow)?;
    let raw = buf.get(used..end).ok_or(HpackError::Truncated)?;
    if huff {
        huffman::decode(raw, out, max).ok_or(HpackError::Huffman)?;
    } else {
        if out.len() + raw.len() > max {
            return Err(HpackError::TooLarge);
        }
        out.extend_from_slice(raw);
    }
    Ok(end)
}

/// One decoded field.
pub type Field = (Vec<u8>, Vec<u8>);

/// The HPACK decoder of one direction of a connection.
#[derive(Debug)]
pub struct Decoder {
    table: VecDeque<Field>,
    size: usize,
    max_size: usize,
    broken: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self { table: VecDeque::new(), size: 0, max_size: DEFAULT_TABLE_SIZE, broken: false }
    }
}

fn entry_size(f: &Field) -> usize {
    f.0.len() + f.1.len() + 32
}

impl Decoder {
    /// Current dynamic table size (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.size
    }

    /// The field at a 1-based index of the combined table.
    fn get(&self, index: u64) -> Result<Field, HpackError> {
        let i = usize::try_from(index).map_err(|_| HpackError::BadIndex)?;
        match i {
            0 => Err(HpackError::BadIndex),
            1..=61 => {
                let (n, v) = STATIC[i - 1];
                Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            }
            _ => self.table.get(i - 62).cloned().ok_or(HpackError::BadIndex),
        }
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            let Some(old) = self.table.pop_back() else { break };
            self.size -= entry_size(&old);
        }
    }

    fn insert(&mut self, f: Field) {
        let sz = entry_size(&f);
        if sz > self.max_size {
            self.table.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - sz);
        self.size += sz;
        self.table.push_front(f);
    }

    /// Decodes one complete header block into `(name, value)` pairs.
    ///
    /// # Errors
    /// Any [`HpackError`]; the decoder is unusable afterwards (and says so again).
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<Field>, HpackError> {
        if self.broken {
            return Err(HpackError::Truncated);
        }
        let r = self.decode_inner(block);
        self.broken = r.is_err();
        r
    }

    fn decode_inner(&mut self, mut block: &[u8]) -> Result<Vec<Field>, HpackError> {
        let mut fields = Vec::new();
        let mut total = 0usize;
        let mut first = true;
        while let Some(&b) = block.first() {
            let used = if b & 0x80 != 0 {
                let (idx, used) = integer(block, 7)?;
                let f = self.get(idx)?;
                total += f.0.len() + f.1.len();
                fields.push(f);
                used
            } else if b & 0xe0 == 0x20 {
                // Dynamic table size update: only at the start of a block.
                if !first {
                    return Err(HpackError::TableSize);
                }
                let (size, used) = integer(block, 5)?;
                let size = usize::try_from(size).map_err(|_| HpackError::TableSize)?;
                if size > MAX_TABLE_SIZE {
                    return Err(HpackError::TableSize);
                }
                self.max_size = size;
                self.evict_to(size);
                block = &block[used..];
                continue;
            } else {
                let (prefix, index) = if b & 0xc0 == 0x40 { (6, true) } else { (4, false) };
                let (idx, mut used) = integer(block, prefix)?;
                let room = MAX_LIST_BYTES.saturating_sub(total);
                let name = if idx == 0 {
                    let mut n = Vec::new();
                    used += string(&block[used..], 7, &mut n, room)?;
                    n
                } else {
                    self.get(idx)?.0
                };
                let mut value = Vec::new();
                let room = room.saturating_sub(name.len());
                used +=
                    string(block.get(used..).ok_or(HpackError::Truncated)?, 7, &mut value, room)?;
                total += name.len() + value.len();
                let f = (name, value);
                if index {
                    self.insert(f.clone());
                }
                fields.push(f);
                used
            };
            first = false;
            if total > MAX_LIST_BYTES {
                return Err(HpackError::TooLarge);
            }
            block = &block[used..];
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        crate::tls::keylog::unhex(s.as_bytes()).unwrap()
    }

    fn strs(fields: &[Field]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(n, v)| (String::from_utf8_lossy(n).into(), String::from_utf8_lossy(v).into()))
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect()
    }

    #[test]
    fn rfc7541_c2_and_c1_primitives() {
        assert_eq!(integer(&[0x0a], 5), Ok((10, 1)));
        assert_eq!(integer(&[0x1f, 0x9a, 0x0a], 5), Ok((1337, 3)));
        assert_eq!(integer(&[0x2a], 8), Ok((42, 1)));
        assert_eq!(integer(&[0x1f, 0x9a], 5), Err(HpackError::Truncated));
        assert_eq!(
            integer(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 5),
            Err(HpackError::Overflow)
        );
        // C.2.1: literal with indexing, custom-key: custom-header.
        let mut d = Decoder::default();
        let f = d
            .decode(&hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))
            .unwrap();
        assert_eq!(strs(&f), pairs(&[("custom-key", "custom-header")]));
        assert_eq!(d.table_size(), 55);
        // C.2.4: indexed :method GET.
        assert_eq!(
            strs(&Decoder::default().decode(&[0x82]).unwrap()),
            pairs(&[(":method", "GET")])
        );
    }

    #[test]
    fn rfc7541_c3_requests_without_huffman() {
        let mut d = Decoder::default();
        let r1 = d.decode(&hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")).unwrap();
        assert_eq!(
            strs(&r1),
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com")
            ])
        );
        assert_eq!(d.table_size(), 57);
        let r2 = d.decode(&hex("8286 84be 5808 6e6f 2d63 6163 6865")).unwrap();
        assert_eq!(
            strs(&r2)[3..],
            pairs(&[(":authority", "www.example.com"), ("cache-control", "no-cache")])
        );
        assert_eq!(d.table_size(), 110);
        let r3 = d
            .decode(&hex(
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            ))
            .unwrap();
        assert_eq!(
            strs(&r3),
            pairs(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ])
        );
        assert_eq!(d.table_size(), 164);
    }

    #[test]
    fn rfc7541_c4_requests_with_huffman() {
        let mut d = Decoder::default();
        let r1 = d.decode(&hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")).unwrap();
        assert_eq!(strs(&r1)[3], (":authority".into(), "www.example.com".into()));
        let r2 = d.decode(&hex("8286 84be 5886 a8eb 1064 9cbf")).unwrap();
        assert_eq!(strs(&r2)[4], ("cache-control".into(), "no-cache".into()));
        let r3 =
            d.decode(&hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")).unwrap();
        assert_eq!(strs(&r3)[4], ("custom-key".into(), "custom-value".into()));
        assert_eq!(d.table_size(), 164);
    }

    #[test]
    fn rfc7541_c5_responses_with_eviction() {
        let mut d = Decoder::default();
        d.decode(&[0x3f, 0xe1, 0x01]).unwrap(); // size update to 256 (C.5 uses a 256-byte table)
        let r1 = d
            .decode(&hex(
                "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
                 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
                 6c65 2e63 6f6d",
            ))
            .unwrap();
        assert_eq!(strs(&r1)[0], (":status".into(), "302".into()));
        assert_eq!(d.table_size(), 222);
        let r2 = d.decode(&hex("4803 3330 37c1 c0bf")).unwrap();
        assert_eq!(strs(&r2)[0], (":status".into(), "307".into()));
        assert_eq!(strs(&r2)[3], ("location".into(), "https://www.example.com".into()));
        assert_eq!(d.table_size(), 222);
        let r3 = d
            .decode(&hex(
                "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d \
                 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 \
                 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e \
                 3d31",
            ))
            .unwrap();
        assert_eq!(strs(&r3)[4], ("content-encoding".into(), "gzip".into()));
        assert_eq!(d.table_size(), 215);
    }

    #[test]
    fn hostile_blocks() {
        // Amplification: one large entry referenced many times.
        let mut d = Decoder::default();
        // Literal with incremental indexing, new name "a", a 4,000-byte value (length 127 + 3873
        // as a 7-bit-prefix integer).
        let mut first = vec![0x40, 1, b'a', 0x7f, 0xa1, 0x1e];
        first.extend(std::iter::repeat_n(b'x', 4000));
        d.decode(&first).unwrap();
        assert_eq!(d.table_size(), 4033);
        let refs = vec![0xbe; 100]; // index 62, a hundred times
        assert_eq!(d.decode(&refs), Err(HpackError::TooLarge));
        assert!(d.decode(&[0x82]).is_err(), "broken decoders stay broken");
        // Bad index, size update in the middle, oversized table.
        assert_eq!(Decoder::default().decode(&[0xff, 0x00]), Err(HpackError::BadIndex));
        assert_eq!(Decoder::default().decode(&[0x82, 0x20]), Err(HpackError::TableSize));
        assert_eq!(
            Decoder::default().decode(&[0x3f, 0xff, 0xff, 0x7f]),
            Err(HpackError::TableSize)
        );
        // Every truncation of a valid block fails cleanly or decodes a prefix.
        let block = hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff");
        for n in 0..block.len() {
            let _ = Decoder::default().decode(&block[..n]);
        }
    }
}
