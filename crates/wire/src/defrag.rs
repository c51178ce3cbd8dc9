//! IPv4 / IPv6 fragment reassembly, bounded and driven by capture time.
//!
//! Datagrams are keyed by (source, destination, protocol, identification) for IPv4 (RFC 791) and
//! (source, destination, identification) for IPv6 (RFC 8200). Each one keeps a buffer indexed by
//! fragment offset and a sorted, merged list of the byte ranges received; the gaps between them are
//! the holes. A datagram is complete when its last fragment (MF=0) has been seen and no hole is
//! left; its buffer is then handed to the caller (moved, not copied), who keeps it as long as the
//! packet decoded from it is borrowed.
//!
//! Policies (each drop is counted in [`WireStats`]):
//! - **Overlaps: first-arrived data wins.** A fragment only fills holes; where it overlaps data
//!   already held, the old bytes stay. If the overlapping bytes differ, the fragment is counted once
//!   in `defrag_bad_fragments` (its non-overlapping bytes are still used). Identical duplicates are
//!   not counted: retransmitted fragments are normal.
//! - **Bad fragments** (`defrag_bad_fragments`, the fragment is dropped, its datagram kept): a
//!   fragment ending beyond 65,535 bytes of payload (the IPv4 limit; IPv6 jumbograms cannot be
//!   fragmented), a non-last fragment whose length is not a multiple of 8 (receivers discard those),
//!   a fragment cut by the snap length (its missing bytes would leave a hole forever), a fragment
//!   contradicting the known end (second last fragment with another end, data past the end, a last
//!   fragment ending before data already held), and fragments past
//!   [`DefragLimits::max_fragments_per_datagram`].
//! - **Caps** (`defrag_capped`, whole datagrams dropped, oldest first): starting a datagram when
//!   [`DefragLimits::max_datagrams`] are pending, and growing buffers past
//!   [`DefragLimits::max_buffered_bytes`]. Buffered bytes are the sizes of the per-datagram buffers
//!   (offset 0 up to the furthest fragment end), which is the memory actually held.
//! - **Timeouts** (`defrag_timeouts`): a datagram is dropped once the capture time is more than
//!   [`DefragLimits::timeout_ns`] past its first fragment. Expiry runs on every decoded frame while
//!   datagrams are pending and costs O(1) when nothing expires: datagrams sit in a queue in creation
//!   order, so only its front is looked at. Captures with timestamps going backwards make this
//!   approximate (a datagram may outlive its timeout until those before it expire); a fragment for
//!   an expired datagram always starts a new one.
//!
//! Fragment data on the non-fragment path is never touched: this module allocates only for
//! fragments.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::ip::{Frag, FragId};
use crate::{DefragLimits, WireStats};

/// Largest reassembled payload (bytes after the IP header / unfragmentable part).
pub(crate) const MAX_PAYLOAD: u32 = 65_535;

/// Identity of a datagram being reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) id: FragId,
}

/// What the offset-0 fragment says about the whole datagram.
#[derive(Debug, Clone, Copy)]
struct Head {
    /// Protocol (IPv4) or next header after the fragment header (IPv6).
    protocol: u8,
    /// IP header length (IPv4) or unfragmentable part length (IPv6).
    header_len: u32,
}

/// A datagram being reassembled.
#[derive(Debug)]
struct Entry {
    /// Tells this entry apart from an earlier one with the same key in [`Defragmenter::order`].
    serial: u64,
    /// Capture time of the first fragment.
    first_ts: i64,
    /// Fragmentable part, indexed by fragment offset; bytes outside `ranges` are zero.
    data: Vec<u8>,
    /// Received byte ranges `[start, end)`, sorted, non-overlapping and non-touching.
    ranges: Vec<(u32, u32)>,
    /// Payload length, known once the last fragment (MF=0) has arrived.
    end: Option<u32>,
    /// Fragments accepted so far.
    fragments: usize,
    head: Option<Head>,
}

impl Entry {
    fn is_complete(&self) -> bool {
        matches!(self.end, Some(end) if self.ranges.as_slice() == [(0, end)])
    }

    /// Furthest byte received.
    fn extent(&self) -> u32 {
        self.ranges.last().map_or(0, |r| r.1)
    }

    /// Copies `bytes` (at `start`) into the holes; returns true if an overlap disagreed with data
    /// already held. `data` must already be at least `start + bytes.len()` long.
    fn fill(&mut self, start: u32, bytes: &[u8]) -> bool {
        let end = start + bytes.len() as u32;
        if start == end {
            return false;
        }
        let mut conflict = false;
        let mut cur = start;
        let first = self.ranges.partition_point(|r| r.1 <= start);
        for &(rs, re) in &self.ranges[first..] {
            if rs >= end {
                break;
            }
            if rs > cur {
                self.data[cur as usize..rs as usize]
                    .copy_from_slice(&bytes[(cur - start) as usize..(rs - start) as usize]);
            }
            let (os, oe) = (cur.max(rs), end.min(re));
            conflict |= self.data[os as usize..oe as usize]
                != bytes[(os - start) as usize..(oe - start) as usize];
            cur = oe;
        }
        if cur < end {
            self.data[cur as usize..end as usize].copy_from_slice(&bytes[(cur - start) as usize..]);
        }
        // Merge [start, end) with every range it overlaps or touches.
        let i = self.ranges.partition_point(|r| r.1 < start);
        let mut j = i;
        let (mut ms, mut me) = (start, end);
        while j < self.ranges.len() && self.ranges[j].0 <= end {
            ms = ms.min(self.ranges[j].0);
            me = me.max(self.ranges[j].1);
            j += 1;
        }
        self.ranges.splice(i..j, [(ms, me)]);
        conflict
    }
}

/// A reassembled datagram, handed over by the [`Defragmenter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reassembled {
    /// Protocol (IPv4) or next header after the fragment header (IPv6), from the first fragment.
    pub(crate) protocol: u8,
    /// IP header (IPv4) or unfragmentable part (IPv6) length of the first fragment.
    pub(crate) header_len: u32,
    /// The fragmentable part.
    pub(crate) payload: Vec<u8>,
}

/// Holds fragments until their datagram is complete. See the module doc for the policies.
#[derive(Debug)]
pub(crate) struct Defragmenter {
    limits: DefragLimits,
    table: HashMap<Key, Entry>,
    /// `(key, serial, first_ts)` in creation order; items whose entry is gone are skipped lazily
    /// and compacted away when they pile up.
    order: VecDeque<(Key, u64, i64)>,
    next_serial: u64,
    /// Sum of `data.len()` over `table`.
    buffered: usize,
}

impl Defragmenter {
    pub(crate) fn new(limits: DefragLimits) -> Self {
        Self { limits, table: HashMap::new(), order: VecDeque::new(), next_serial: 0, buffered: 0 }
    }

    /// True when no datagram is pending (nothing can expire).
    pub(crate) fn is_idle(&self) -> bool {
        self.table.is_empty()
    }

    fn is_expired(&self, first_ts: i64, now: i64) -> bool {
        now.saturating_sub(first_ts) > self.limits.timeout_ns
    }

    fn remove(&mut self, key: &Key) -> Option<Entry> {
        let entry = self.table.remove(key)?;
        self.buffered -= entry.data.len();
        Some(entry)
    }

    /// Drops datagrams whose first fragment is more than the timeout before `now`.
    pub(crate) fn expire(&mut self, now: i64, stats: &mut WireStats) {
        while let Some(&(key, serial, first_ts)) = self.order.front() {
            if !self.is_expired(first_ts, now) {
                break;
            }
            self.order.pop_front();
            if self.table.get(&key).is_some_and(|e| e.serial == serial) {
                self.remove(&key);
                stats.defrag_timeouts += 1;
            }
        }
    }

    /// Drops the oldest pending datagram; false if there is none.
    fn evict_oldest(&mut self, stats: &mut WireStats) -> bool {
        while let Some((key, serial, _)) = self.order.pop_front() {
            if self.table.get(&key).is_some_and(|e| e.serial == serial) {
                self.remove(&key);
                stats.defrag_capped += 1;
                return true;
            }
        }
        false
    }

    /// Adds one fragment (`data`: its captured fragment data; `protocol`: the IPv4 protocol or the
    /// IPv6 fragment header's next header). Returns the datagram when this fragment completes it.
    pub(crate) fn insert(
        &mut self,
        now: i64,
        key: Key,
        frag: &Frag,
        protocol: u8,
        data: &[u8],
        stats: &mut WireStats,
    ) -> Option<Reassembled> {
        // Checks on the fragment alone.
        let end = u32::try_from(data.len()).ok().and_then(|n| n.checked_add(frag.offset));
        let end = match end {
            Some(end)
                if end <= MAX_PAYLOAD
                    && !frag.truncated
                    && (!frag.more || data.len().is_multiple_of(8))
                    && self.limits.max_fragments_per_datagram > 0 =>
            {
                end
            }
            _ => {
                stats.defrag_bad_fragments += 1;
                return None;
            }
        };

        self.expire(now, stats);
        if let Some(e) = self.table.get(&key)
            && self.is_expired(e.first_ts, now)
        {
            self.remove(&key);
            stats.defrag_timeouts += 1;
        }
        if !self.table.contains_key(&key) && !self.create(now, key, stats) {
            return None;
        }

        // Checks against what the datagram already holds.
        let entry = self.table.get_mut(&key)?;
        let contradicts_end = match entry.end {
            Some(known) => end > known || (!frag.more && end != known),
            None => !frag.more && end < entry.extent(),
        };
        if contradicts_end || entry.fragments >= self.limits.max_fragments_per_datagram {
            stats.defrag_bad_fragments += 1;
            return None;
        }

        // A zero-length fragment holds no data (it may still set the end).
        if !data.is_empty() && !self.reserve(&key, end as usize, stats) {
            return None;
        }
        let entry = self.table.get_mut(&key)?;
        entry.fragments += 1;
        if frag.offset == 0 && entry.head.is_none() {
            entry.head = Some(Head { protocol, header_len: frag.header_len });
        }
        if !frag.more {
            entry.end = Some(end);
        }
        if entry.fill(frag.offset, data) {
            stats.defrag_bad_fragments += 1;
        }
        if !entry.is_complete() {
            return None;
        }

        let entry = self.remove(&key)?;
        let head = entry.head.unwrap_or(Head { protocol, header_len: frag.header_len });
        let len = entry.end.unwrap_or(0) as usize;
        let mut payload = entry.data;
        payload.truncate(len);
        Some(Reassembled { protocol: head.protocol, header_len: head.header_len, payload })
    }

    /// Starts a datagram for `key`, dropping the oldest if `max_datagrams` are pending. False (and
    /// counted) if no room can be made.
    fn create(&mut self, now: i64, key: Key, stats: &mut WireStats) -> bool {
        while self.table.len() >= self.limits.max_datagrams {
            if !self.evict_oldest(stats) {
                stats.defrag_capped += 1;
                return false;
            }
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        self.table.insert(
            key,
            Entry {
                serial,
                first_ts: now,
                data: Vec::new(),
                ranges: Vec::new(),
                end: None,
                fragments: 0,
                head: None,
            },
        );
        self.order.push_back((key, serial, now));
        if self.order.len() > 2 * self.table.len() + 64 {
            let table = &self.table;
            self.order.retain(|(k, s, _)| table.get(k).is_some_and(|e| e.serial == *s));
        }
        true
    }

    /// Grows the buffer of `key` to `len` bytes within `max_buffered_bytes`, dropping the oldest
    /// datagrams (possibly this one) to make room. False if this datagram was dropped.
    fn reserve(&mut self, key: &Key, len: usize, stats: &mut WireStats) -> bool {
        let Some(have) = self.table.get(key).map(|e| e.data.len()) else {
            return false;
        };
        let Some(grow) = len.checked_sub(have).filter(|&g| g > 0) else {
            return true;
        };
        if len > self.limits.max_buffered_bytes {
            // Too big even alone: drop it without evicting others for nothing.
            self.remove(key);
            stats.defrag_capped += 1;
            return false;
        }
        while self.buffered + grow > self.limits.max_buffered_bytes {
            if !self.evict_oldest(stats) || !self.table.contains_key(key) {
                break;
            }
        }
        if self.buffered + grow > self.limits.max_buffered_bytes {
            // Unreachable while `order` holds every live entry; kept so the cap holds regardless.
            if self.remove(key).is_some() {
                stats.defrag_capped += 1;
            }
            return false;
        }
        let Some(entry) = self.table.get_mut(key) else {
            return false;
        };
        entry.data.reserve_exact(grow);
        entry.data.resize(len, 0);
        self.buffered += grow;
        true
    }
}

#[cfg(test)]
mod tests;
