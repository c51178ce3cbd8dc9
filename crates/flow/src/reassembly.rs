//! TCP stream reassembly for one direction of a flow.
//!
//! Contract:
//! - Sequence numbers become 64-bit stream offsets: offset 0 is the first byte after the SYN
//!   (ISN + 1), or the first byte seen when the stream was picked up mid-stream. A segment is placed
//!   by the signed 32-bit distance (`wrapping_sub`) between its sequence number and the next
//!   expected one, so wrap-around of the 32-bit space is invisible and nothing can panic on hostile
//!   numbers.
//! - Bytes reach the sink exactly once and in offset order: every byte below [`Reassembler`]'s
//!   `next` was handed on as [`Chunk::Data`] or covered by a [`Chunk::Gap`]; nothing at or above it
//!   was. Data is never glued across a hole.
//! - **Overlap policy: first data wins.** A byte that was already delivered, or is already buffered,
//!   keeps its first version; later segments only contribute the bytes nobody has provided yet (the
//!   BSD/Linux-like "favour old data" policy; a passive observer cannot know which copy the endpoint
//!   kept, so it keeps the one it can no longer take back). Segments with new bytes that also overlap
//!   old ones count as `overlaps`; segments with no new byte count as `retransmissions`.
//! - The in-order fast path is zero copy: a segment that starts at `next` is passed to the sink as a
//!   slice of the packet. Only out-of-order bytes are copied into the buffer.
//! - The out-of-order buffer is bounded (like smoltcp's assembler, which refuses to grow): per
//!   direction by bytes and pieces, and across all flows by bytes. When a piece does not fit, the
//!   earliest holes are declared gaps and the buffered data before the piece is flushed until it
//!   fits; if it still does not fit, the hole before the piece itself becomes a gap and the piece is
//!   delivered straight from the packet.
//! - **Gap on ACK.** When the peer acknowledges offset `X` beyond `next`, the peer has received
//!   every byte below `X`, so any of them the capture did not see will never arrive. If something is
//!   known beyond the hole (buffered data or the FIN), the holes below `X` are declared gaps (each up
//!   to the next known piece, or to `X`) and the data that becomes contiguous is delivered. With
//!   nothing known beyond `next`, it waits: the hole may just be a segment captured after its ACK,
//!   and the next segment, ACK, expiry or end of capture settles it.
//! - A snaplen-cut segment delivers its captured bytes, then a gap for the bytes cut off. The cut
//!   part counts as seen (a later copy cannot fill it: the snap length cuts every copy the same way).

use std::collections::VecDeque;

use crate::{Chunk, Direction, FlowInfo, FlowLimits, FlowSink, FlowStats, Meta};

/// Everything a reassembler needs to hand chunks on.
pub(crate) struct Out<'a, S> {
    /// The flow: `payload_bytes` and `flags` are updated as chunks go out.
    pub(crate) info: &'a mut FlowInfo,
    /// Where chunks go.
    pub(crate) sink: &'a mut S,
    /// Stage counters.
    pub(crate) stats: &'a mut FlowStats,
    /// Out-of-order bytes buffered across all flows.
    pub(crate) ooo_total: &'a mut usize,
    /// Buffer limits.
    pub(crate) limits: &'a FlowLimits,
    /// The packet that makes chunks deliverable.
    pub(crate) meta: Meta,
    /// The direction being delivered.
    pub(crate) dir: Direction,
}

impl<S: FlowSink> Out<'_, S> {
    fn data(&mut self, offset: u64, bytes: &[u8]) {
        self.info.payload_bytes[self.dir.index()] += bytes.len() as u64;
        self.sink.data(self.info, self.dir, Chunk::Data { offset, bytes }, self.meta);
    }

    fn gap(&mut self, offset: u64, len: u64) {
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        self.info.flags.gap = true;
        self.sink.data(self.info, self.dir, Chunk::Gap { offset, len }, self.meta);
    }

    fn end(&mut self) {
        self.sink.data(self.info, self.dir, Chunk::End, self.meta);
    }
}

/// A buffered out-of-order piece: `data` at `off`, then `lost` bytes cut by the snap length.
#[derive(Debug)]
struct Piece {
    off: u64,
    data: Vec<u8>,
    lost: u64,
}

impl Piece {
    fn end(&self) -> u64 {
        self.off + self.data.len() as u64 + self.lost
    }
}

/// Reassembly state of one direction.
///
/// Invariants: pieces in `pending` are non-empty, sorted by offset, do not overlap, and all start
/// strictly above `next` (a piece starting at `next` is delivered at once); `buffered` is the sum of
/// their `data` lengths and is included in the global out-of-order total.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    /// Sequence number of stream offset 0. Meaningless until `init`.
    base: u32,
    /// True once the stream's origin is known (SYN, handshake ACK, or first data seen).
    init: bool,
    /// Next stream offset to deliver.
    next: u64,
    /// Out-of-order pieces waiting for the hole before them.
    pending: VecDeque<Piece>,
    /// Data bytes in `pending`.
    buffered: usize,
    /// Stream offset of the FIN, once seen (the first FIN wins).
    fin: Option<u64>,
    /// `Chunk::End` was delivered: nothing more is accepted.
    ended: bool,
}

impl Reassembler {
    /// Sets offset 0 at sequence number `base` (ISN + 1). Ignored once initialised.
    pub(crate) fn init(&mut self, base: u32) {
        if !self.init {
            self.base = base;
            self.init = true;
        }
    }

    /// True if a SYN with sequence number `seq` is the one that opened this stream.
    pub(crate) fn same_syn(&self, seq: u32) -> bool {
        self.init && self.base == seq.wrapping_add(1)
    }

    /// True once `Chunk::End` was delivered.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// True once a FIN was seen.
    pub(crate) fn fin_seen(&self) -> bool {
        self.fin.is_some()
    }

    /// Stream offset of sequence number `seq`, relative to the next expected byte (may be negative
    /// for numbers before the stream start).
    fn offset_of(&self, seq: u32) -> i64 {
        let expected = self.base.wrapping_add(self.next as u32);
        self.next as i64 + i64::from(seq.wrapping_sub(expected) as i32)
    }

    /// Takes one segment of this direction. `syn`: the segment carries a SYN (its data starts at
    /// `seq + 1`); `fin`: it carries a FIN. Returns true if the stream was initialised by this data
    /// segment without a SYN (picked up mid-stream).
    pub(crate) fn segment<S: FlowSink>(
        &mut self,
        seq: u32,
        payload: &[u8],
        wire_len: u32,
        syn: bool,
        fin: bool,
        out: &mut Out<'_, S>,
    ) -> bool {
        if self.ended {
            return false;
        }
        let seq = if syn { seq.wrapping_add(1) } else { seq };
        let len = payload.len().max(wire_len as usize) as u64;
        let mut midstream = false;
        if !self.init {
            if len == 0 && !fin && !syn {
                // A bare ACK says nothing about where this stream's data starts (it may be a
                // keep-alive one byte back): wait for data.
                return false;
            }
            self.init(seq);
            midstream = !syn;
        }
        if (payload.len() as u64) < len {
            out.stats.snaplen_cut += 1;
        }
        let start = self.offset_of(seq);
        let mut end = start + len as i64;
        if fin && self.fin.is_none() {
            self.fin = Some(end.max(self.next as i64) as u64);
        }
        if let Some(f) = self.fin {
            // Nothing exists after the FIN.
            end = end.min(f as i64);
        }
        if end <= self.next as i64 {
            if len > 0 {
                out.stats.retransmissions += 1;
            }
            self.check_end(out);
            return midstream;
        }
        let end = end as u64;
        let data_end = start + payload.len() as i64;
        let mut overlapped = start < self.next as i64;
        let mut new_bytes = false;
        let mut stored = false;
        let mut cur = start.max(self.next as i64) as u64;
        while cur < end {
            if cur < self.next {
                // Buffered data (older, so it wins) was delivered over this part.
                cur = self.next;
                continue;
            }
            let i = self.pending.partition_point(|p| p.end() <= cur);
            let piece_end = match self.pending.get(i) {
                Some(p) if p.off <= cur => {
                    overlapped = true;
                    cur = p.end().min(end);
                    continue;
                }
                Some(p) if p.off < end => {
                    overlapped = true;
                    p.off
                }
                _ => end,
            };
            new_bytes = true;
            // Split [cur, piece_end) into captured bytes and bytes cut by the snap length.
            let lo = cur as i64;
            let hi = piece_end as i64;
            let data = if lo < data_end {
                &payload[(lo - start) as usize..(hi.min(data_end) - start) as usize]
            } else {
                &[][..]
            };
            let lost = (hi - lo.max(data_end)).max(0) as u64;
            if cur == self.next {
                self.deliver(data, lost, out);
                self.drain(out);
            } else {
                stored |= self.store(cur, data, lost, out);
            }
            cur = piece_end;
        }
        if !new_bytes {
            out.stats.retransmissions += 1;
        } else if overlapped {
            out.stats.overlaps += 1;
        }
        if stored {
            out.stats.out_of_order += 1;
        }
        self.check_end(out);
        midstream
    }

    /// The peer acknowledged sequence number `ack` of this direction: declares the holes it proves
    /// lost (see the module docs) and delivers what follows them.
    pub(crate) fn ack<S: FlowSink>(&mut self, ack: u32, out: &mut Out<'_, S>) {
        if !self.init || self.ended {
            return;
        }
        let acked = self.offset_of(ack);
        if acked <= self.next as i64 {
            return;
        }
        let acked = acked as u64;
        loop {
            let target = match (self.pending.front(), self.fin) {
                (Some(p), _) if p.off < acked => p.off,
                (Some(_), _) => acked,
                (None, Some(f)) if f > self.next && f <= acked => f,
                _ => break,
            };
            if target <= self.next {
                break;
            }
            self.gap_to(target, out);
            self.drain(out);
        }
        self.check_end(out);
    }

    /// Ends the stream now (RST, expiry, eviction, end of capture): buffered data is delivered with
    /// gaps for the holes, then a gap up to the FIN if one was seen, then `Chunk::End`.
    pub(crate) fn close<S: FlowSink>(&mut self, out: &mut Out<'_, S>) {
        if self.ended {
            return;
        }
        while let Some(p) = self.pending.pop_front() {
            self.unbuffer(p.data.len(), out);
            self.gap_to(p.off, out);
            self.deliver(&p.data, p.lost, out);
        }
        if let Some(f) = self.fin {
            self.gap_to(f, out);
        }
        self.ended = true;
        out.end();
    }

    /// Delivers `data` then `lost` cut bytes at `next`.
    fn deliver<S: FlowSink>(&mut self, data: &[u8], lost: u64, out: &mut Out<'_, S>) {
        if !data.is_empty() {
            out.data(self.next, data);
            self.next += data.len() as u64;
        }
        if lost > 0 {
            out.gap(self.next, lost);
            self.next += lost;
        }
    }

    /// Declares `[next, target)` a gap.
    fn gap_to<S: FlowSink>(&mut self, target: u64, out: &mut Out<'_, S>) {
        if target > self.next {
            out.gap(self.next, target - self.next);
            self.next = target;
        }
    }

    /// Delivers the buffered pieces that are now contiguous with `next`.
    fn drain<S: FlowSink>(&mut self, out: &mut Out<'_, S>) {
        while self.pending.front().is_some_and(|p| p.off <= self.next) {
            let Some(p) = self.pending.pop_front() else { break };
            self.unbuffer(p.data.len(), out);
            // Pieces never overlap delivered data (they start above `next` when stored and `next`
            // only moves over them in order), so `p.off == next` here.
            debug_assert_eq!(p.off, self.next);
            self.deliver(&p.data, p.lost, out);
        }
    }

    fn unbuffer<S>(&mut self, n: usize, out: &mut Out<'_, S>) {
        self.buffered -= n;
        *out.ooo_total -= n;
    }

    fn fits<S>(&self, n: usize, out: &Out<'_, S>) -> bool {
        self.pending.len() < out.limits.max_ooo_segments_per_dir
            && self.buffered + n <= out.limits.max_ooo_bytes_per_dir
            && *out.ooo_total + n <= out.limits.max_ooo_bytes_total
    }

    /// Buffers an out-of-order piece at `off > next`, or, when a limit is hit, declares the earliest
    /// holes gaps until it fits or can be delivered directly. Returns true if it was buffered.
    fn store<S: FlowSink>(
        &mut self,
        off: u64,
        data: &[u8],
        lost: u64,
        out: &mut Out<'_, S>,
    ) -> bool {
        if !self.fits(data.len(), out) {
            out.stats.ooo_capped += 1;
            out.info.flags.capped = true;
            while !self.fits(data.len(), out) {
                match self.pending.front() {
                    Some(p) if p.off < off => {
                        let target = p.off;
                        self.gap_to(target, out);
                        self.drain(out);
                    }
                    _ => break,
                }
            }
            if self.next == off || !self.fits(data.len(), out) {
                self.gap_to(off, out);
                self.deliver(data, lost, out);
                self.drain(out);
                return false;
            }
        }
        let i = self.pending.partition_point(|p| p.off < off);
        self.pending.insert(i, Piece { off, data: data.to_vec(), lost });
        self.buffered += data.len();
        *out.ooo_total += data.len();
        true
    }

    /// Delivers `Chunk::End` once the FIN is reached.
    fn check_end<S: FlowSink>(&mut self, out: &mut Out<'_, S>) {
        if !self.ended && self.fin.is_some_and(|f| f <= self.next) {
            // Anything still buffered lies after the FIN: it cannot be part of the stream.
            while let Some(p) = self.pending.pop_front() {
                self.unbuffer(p.data.len(), out);
            }
            self.ended = true;
            out.end();
        }
    }
}
