//! A checked byte reader in the style of rustls's `codec::Reader`: every read is bounds-checked
//! with `split_at_checked`, so hostile lengths end in `None`, never a panic.
//!
//! Shared by the TLS hello parsers and the QUIC header and frame parsers (QUIC varints).

/// Reads big-endian integers and length-prefixed parts from a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Number of bytes not read yet.
    pub(crate) fn left(&self) -> usize {
        self.buf.len()
    }

    /// True when everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.buf.split_at_checked(n)?;
        self.buf = tail;
        Some(head)
    }

    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.buf.split_first()?;
        self.buf = tail;
        Some(b)
    }

    /// Big-endian u16.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Big-endian 24-bit integer.
    pub(crate) fn u24(&mut self) -> Option<u32> {
        let b = self.take(3)?;
        Some(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// Big-endian u32.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A part prefixed by a one-byte length.
    pub(crate) fn u8_prefixed(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A part prefixed by a two-byte length.
    pub(crate) fn u16_prefixed(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A QUIC variable-length integer (RFC 9000 §16): the two high bits of the first byte give
    /// the length (1, 2, 4 or 8 bytes).
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let first = *self.buf.first()?;
        let len = 1usize << (first >> 6);
        let b = self.take(len)?;
        let mut v = u64::from(first & 0x3f);
        for &x in &b[1..] {
            v = (v << 8) | u64::from(x);
        }
        Some(v)
    }

    /// A QUIC varint used as a length: `None` if it does not fit in `usize`.
    pub(crate) fn varint_len(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Reader;

    #[test]
    fn varints_rfc9000_a1() {
        // RFC 9000 Appendix A.1 sample encodings.
        let cases: [(&[u8], u64); 4] = [
            (&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c], 151_288_809_941_952_652),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
        ];
        for (bytes, want) in cases {
            let mut r = Reader::new(bytes);
            assert_eq!(r.varint(), Some(want));
            assert!(r.is_empty());
        }
        assert_eq!(Reader::new(&[0x40, 0x25]).varint(), Some(37));
        assert_eq!(Reader::new(&[0x80, 0x00]).varint(), None);
        assert_eq!(Reader::new(&[]).varint(), None);
    }

    #[test]
    fn prefixed_parts_are_checked() {
        let mut r = Reader::new(&[0x00, 0x03, 1, 2]);
        assert_eq!(r.u16_prefixed(), None);
        let mut r = Reader::new(&[2, 7, 8, 9]);
        assert_eq!(r.u8_prefixed(), Some(&[7u8, 8][..]));
        assert_eq!(r.left(), 1);
        assert_eq!(r.u24(), None);
        assert_eq!(r.left(), 1);
    }
}
