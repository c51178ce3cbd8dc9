//! QUIC stream reassembly (RFC 9000 §2.2): STREAM frames of each (stream, sending side) put back
//! in order, delivered as [`Chunk`]s with explicit gaps, then the stream's end at its FIN.
//!
//! Out-of-order data is held up to [`MAX_OOO_BYTES`] per connection; past it, the earliest hole
//! is declared a gap and what follows is delivered. Data already delivered (retransmissions) is
//! dropped. At most [`MAX_STREAMS`] streams are tracked at once; closed streams are forgotten
//! (ids below the highest closed one are not reopened per side).

use std::collections::{BTreeMap, HashMap};

use flow::{Chunk, Direction};

/// Out-of-order stream bytes held per connection.
pub const MAX_OOO_BYTES: usize = 1 << 20;
/// Streams open at once per connection.
pub const MAX_STREAMS: usize = 4096;

#[derive(Debug, Default)]
struct Buf {
    next: u64,
    ooo: BTreeMap<u64, Vec<u8>>,
    fin: Option<u64>,
}

/// The streams of one connection.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    open: HashMap<(u64, usize), Buf>,
    ooo_bytes: usize,
    /// Streams already ended, per sending side (stream ids are not reused).
    closed: [std::collections::HashSet<u64>; 2],
    /// Streams refused for [`MAX_STREAMS`].
    pub(crate) capped: u64,
}

impl Streams {
    /// One STREAM frame from `sender`; in-order pieces go to `deliver(id, chunk)`.
    pub(crate) fn frame(
        &mut self,
        sender: Direction,
        id: u64,
        offset: u64,
        data: &[u8],
        fin: bool,
        deliver: &mut impl FnMut(u64, Chunk<'_>),
    ) {
        let side = sender.index();
        if self.closed[side].contains(&id) {
            return;
        }
        if !self.open.contains_key(&(id, side)) && self.open.len() >= MAX_STREAMS {
            self.capped += 1;
            return;
        }
        let b = self.open.entry((id, side)).or_default();
        let end = offset + data.len() as u64;
        if fin {
            b.fin = Some(end);
        }
        if offset <= b.next {
            let skip = usize::try_from(b.next - offset).unwrap_or(usize::MAX);
            if let Some(new) = data.get(skip..).filter(|d| !d.is_empty()) {
                deliver(id, Chunk::Data { offset: b.next, bytes: new });
                b.next = end;
            }
        } else if self.ooo_bytes + data.len() <= MAX_OOO_BYTES {
            self.ooo_bytes += data.len();
            let old = b.ooo.insert(offset, data.to_vec());
            self.ooo_bytes -= old.map_or(0, |o| o.len());
        } else {
            // No room: the hole before this frame is lost for good.
            deliver(id, Chunk::Gap { offset: b.next, len: offset - b.next });
            deliver(id, Chunk::Data { offset, bytes: data });
            b.next = end;
        }
        self.drain(id, side, deliver);
    }

    /// Delivers held data that became contiguous, and the end once reached.
    fn drain(&mut self, id: u64, side: usize, deliver: &mut impl FnMut(u64, Chunk<'_>)) {
        let Some(b) = self.open.get_mut(&(id, side)) else { return };
        while let Some((&off, _)) = b.ooo.first_key_value() {
            if off > b.next {
                break;
            }
            let Some((off, data)) = b.ooo.pop_first() else { break };
            self.ooo_bytes -= data.len();
            let end = off + data.len() as u64;
            if end > b.next {
                let skip = usize::try_from(b.next - off).unwrap_or(usize::MAX);
                deliver(id, Chunk::Data { offset: b.next, bytes: &data[skip..] });
                b.next = end;
            }
        }
        if b.fin.is_some_and(|f| b.next >= f) {
            deliver(id, Chunk::End);
            self.close(id, side);
        }
    }

    fn close(&mut self, id: u64, side: usize) {
        if let Some(b) = self.open.remove(&(id, side)) {
            self.ooo_bytes -= b.ooo.values().map(Vec::len).sum::<usize>();
        }
        self.closed[side].insert(id);
    }

    /// The connection is over: every open stream delivers what it holds after a gap, then ends.
    pub(crate) fn finish(&mut self, mut deliver: impl FnMut(Direction, u64, Chunk<'_>)) {
        let mut keys: Vec<(u64, usize)> = self.open.keys().copied().collect();
        keys.sort_unstable();
        for (id, side) in keys {
            let dir = if side == 0 { Direction::ToServer } else { Direction::ToClient };
            let Some(b) = self.open.remove(&(id, side)) else { continue };
            let mut next = b.next;
            for (off, data) in b.ooo {
                if off > next {
                    deliver(dir, id, Chunk::Gap { offset: next, len: off - next });
                }
                let skip = usize::try_from(next.saturating_sub(off)).unwrap_or(usize::MAX);
                if let Some(d) = data.get(skip..).filter(|d| !d.is_empty()) {
                    deliver(dir, id, Chunk::Data { offset: off.max(next), bytes: d });
                    next = off + data.len() as u64;
                }
            }
            deliver(dir, id, Chunk::End);
        }
        self.ooo_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(frames: &[(u64, &[u8], bool)]) -> (Vec<u8>, bool, usize) {
        let mut s = Streams::default();
        let mut got = Vec::new();
        let mut ended = false;
        let mut gaps = 0;
        for &(off, data, fin) in frames {
            s.frame(Direction::ToServer, 0, off, data, fin, &mut |_, c| match c {
                Chunk::Data { offset, bytes } => {
                    assert_eq!(offset, got.len() as u64);
                    got.extend_from_slice(bytes);
                }
                Chunk::End => ended = true,
                Chunk::Gap { .. } => gaps += 1,
                Chunk::Datagram(_) => {}
            });
        }
        (got, ended, gaps)
    }

    #[test]
    fn reorders_drops_retransmissions_and_ends_at_fin() {
        let (got, ended, gaps) = collect(&[
            (5, b"fghij", true),
            (0, b"abc", false),
            (0, b"abc", false),
            (3, b"de", false),
        ]);
        assert_eq!((got.as_slice(), ended, gaps), (&b"abcdefghij"[..], true, 0));
        let (got, ended, _) = collect(&[(0, b"abcdef", false), (2, b"cdefgh", true)]);
        assert_eq!((got.as_slice(), ended), (&b"abcdefgh"[..], true));
    }

    #[test]
    fn finish_declares_holes() {
        let mut s = Streams::default();
        s.frame(Direction::ToClient, 1, 4, b"late", false, &mut |_, _| panic!("nothing yet"));
        let mut seen = Vec::new();
        s.finish(|d, id, c| seen.push((d, id, format!("{c:?}"))));
        assert_eq!(seen.len(), 3);
        assert!(seen[0].2.starts_with("Gap"));
        assert_eq!(seen[2].2, "End");
    }
}
