//! The multi-pattern matcher: one Aho-Corasick automaton over every search variant.
//!
//! - Engine: `daachorse` (double-array Aho-Corasick, overlapping search). It is about 2.5 times
//!   faster than `aho-corasick`'s DFA on thousands of literals and its automaton fits in L2. It has
//!   no case-insensitive mode: the variants carry their case forms.
//! - Every pattern that occurs is reported, at every position (overlapping search), once per
//!   (pattern, start). Identical byte strings given as several patterns (two variants that
//!   coincide, e.g. the upper- and lower-case forms of an all-digit value) are stored once in the
//!   automaton and reported once per pattern id.
//! - Boundary rule ([`Boundary`]): a pattern may require that the byte just before its start and the
//!   byte at its end are not of a class (digits for an IMEI, so `865123045678903` inside a longer
//!   digit run is not a match). The edges of the searched bytes count as boundaries.
//! - Streams ([`StreamMatcher`]): a match may straddle chunk boundaries; it is found exactly once,
//!   with absolute stream offsets.
//! - Empty patterns never match. Building is fast (daachorse builds thousands of patterns in tens
//!   of milliseconds).

use std::collections::HashMap;

use daachorse::DoubleArrayAhoCorasick;

use crate::variants::VariantSet;

/// Class of byte that must not adjoin a match on either side.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
pub enum Boundary {
    /// No check: the pattern matches anywhere.
    #[default]
    None,
    /// No ASCII digit (`0-9`) just before or just after.
    Digit,
    /// No hex digit (`0-9a-fA-F`) just before or just after.
    Hex,
    /// No ASCII letter or digit (`A-Za-z0-9`) just before or just after.
    Alnum,
}

impl Boundary {
    /// Every rule, in declaration order (`boundary as u8` indexes it).
    pub const ALL: [Self; 4] = [Self::None, Self::Digit, Self::Hex, Self::Alnum];

    /// The boundary a text variant gets from its own bytes: all digits → `Digit`; all hex
    /// digits → `Hex`; else `Alnum` (same rule as the variants module's).
    pub fn of(bytes: &[u8]) -> Self {
        if bytes.iter().all(u8::is_ascii_digit) {
            Self::Digit
        } else if bytes.iter().all(u8::is_ascii_hexdigit) {
            Self::Hex
        } else {
            Self::Alnum
        }
    }

    /// True when `b` is of the class this boundary blocks next to a match.
    #[inline]
    pub fn blocks(self, b: u8) -> bool {
        match self {
            Self::None => false,
            Self::Digit => b.is_ascii_digit(),
            Self::Hex => b.is_ascii_hexdigit(),
            Self::Alnum => b.is_ascii_alphanumeric(),
        }
    }

    /// True when a match with neighbours `before` and `after` (`None` at the edge of the searched
    /// bytes) passes this boundary rule.
    #[inline]
    pub fn accepts(self, before: Option<u8>, after: Option<u8>) -> bool {
        !(before.is_some_and(|b| self.blocks(b)) || after.is_some_and(|b| self.blocks(b)))
    }
}

/// One match in a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    /// Pattern id: its index in the order the patterns were given.
    pub pattern: u32,
    /// Offset of the first matched byte.
    pub start: usize,
    /// Offset just past the last matched byte.
    pub end: usize,
}

/// One match in a stream, in absolute stream offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamHit {
    /// Pattern id: its index in the order the patterns were given.
    pub pattern: u32,
    /// Stream offset of the first matched byte.
    pub start: u64,
    /// Stream offset just past the last matched byte.
    pub end: u64,
}

/// The automaton could not be built (the pattern set exceeds daachorse's scale limits: about
/// 2^32 states).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot build the pattern automaton: {}", self.0)
    }
}

impl std::error::Error for BuildError {}

/// One multi-pattern automaton with per-pattern boundary rules. Immutable once built; share it
/// between streams by reference.
pub struct Matcher {
    /// Automaton over the distinct non-empty pattern byte strings; value = index into `groups`.
    pma: Option<DoubleArrayAhoCorasick<u32>>,
    /// Per distinct byte string: range of `members` holding the pattern ids that have it.
    groups: Vec<(u32, u32)>,
    /// Pattern ids and their boundary rules, grouped by byte string.
    members: Vec<(u32, Boundary)>,
    /// Length of the longest pattern (0 when there is none).
    max_len: usize,
    /// Length of the shortest non-empty pattern (`usize::MAX` when there is none): shorter
    /// haystacks are not searched at all (most fields are short).
    min_len: usize,
    /// Number of patterns given (empty ones included).
    len: usize,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("patterns", &self.len)
            .field("distinct", &self.groups.len())
            .field("max_len", &self.max_len)
            .finish()
    }
}

impl Matcher {
    /// Builds the automaton. Pattern ids are the iteration order (0, 1, ...). Empty patterns take
    /// an id but never match.
    pub fn new<P: AsRef<[u8]>>(
        patterns: impl IntoIterator<Item = (P, Boundary)>,
    ) -> Result<Self, BuildError> {
        let all: Vec<(P, Boundary)> = patterns.into_iter().collect();
        let len = all.len();
        if u32::try_from(len).is_err() {
            return Err(BuildError("more than 2^32 patterns".into()));
        }
        let mut index: HashMap<&[u8], u32> = HashMap::with_capacity(len);
        let mut distinct: Vec<&[u8]> = Vec::with_capacity(len);
        let mut by_group: Vec<Vec<(u32, Boundary)>> = Vec::with_capacity(len);
        let mut max_len = 0usize;
        let mut min_len = usize::MAX;
        for (id, (p, b)) in (0u32..).zip(&all) {
            let p = p.as_ref();
            if p.is_empty() {
                continue;
            }
            max_len = max_len.max(p.len());
            min_len = min_len.min(p.len());
            let g = *index.entry(p).or_insert_with(|| {
                distinct.push(p);
                by_group.push(Vec::new());
                (distinct.len() - 1) as u32
            });
            by_group[g as usize].push((id, *b));
        }
        let pma = if distinct.is_empty() {
            None
        } else {
            let patvals = distinct.iter().zip(0u32..);
            Some(
                DoubleArrayAhoCorasick::with_values(patvals)
                    .map_err(|e| BuildError(e.to_string()))?,
            )
        };
        let mut groups = Vec::with_capacity(by_group.len());
        let mut members = Vec::with_capacity(len);
        for g in by_group {
            let from = members.len() as u32;
            members.extend(g);
            groups.push((from, members.len() as u32));
        }
        Ok(Self { pma, groups, members, max_len, min_len, len })
    }

    /// Builds the automaton over every variant of a set; pattern id = index in `set.variants`.
    pub fn from_set(set: &VariantSet) -> Result<Self, BuildError> {
        Self::new(set.variants.iter().map(|v| {
            // Read the variant's rule by what it blocks, so this works whether `variants` uses
            // this type or its own copy with the same `blocks` method.
            let b = if v.boundary.blocks(b'g') {
                Boundary::Alnum
            } else if v.boundary.blocks(b'a') {
                Boundary::Hex
            } else if v.boundary.blocks(b'0') {
                Boundary::Digit
            } else {
                Boundary::None
            };
            (v.bytes.as_slice(), b)
        }))
    }

    /// The matcher as bytes, for [`crate::compiled`]: the counts, the group and member tables,
    /// then daachorse's own serialisation of the automaton.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for n in [self.len, self.max_len, self.min_len.min(u32::MAX as usize)] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        out.extend_from_slice(&(self.groups.len() as u32).to_le_bytes());
        for &(a, b) in &self.groups {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        out.extend_from_slice(&(self.members.len() as u32).to_le_bytes());
        for &(id, b) in &self.members {
            out.extend_from_slice(&id.to_le_bytes());
            out.push(b as u8);
        }
        if let Some(pma) = &self.pma {
            out.extend_from_slice(&pma.serialize());
        }
        out
    }

    /// Reads [`Matcher::to_bytes`] back, checking every table against the others and the
    /// automaton with daachorse's validating reader; `None` for anything inconsistent (a cache
    /// file is input like any other).
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        let mut at = 0usize;
        let u32_at = |at: &mut usize| -> Option<u32> {
            let v = u32::from_le_bytes(data.get(*at..*at + 4)?.try_into().ok()?);
            *at += 4;
            Some(v)
        };
        let len = u32_at(&mut at)? as usize;
        let max_len = u32_at(&mut at)? as usize;
        let min_len = match u32_at(&mut at)? {
            u32::MAX => usize::MAX,
            n => n as usize,
        };
        let ngroups = u32_at(&mut at)? as usize;
        if ngroups > data.len() / 8 {
            return None;
        }
        let mut groups = Vec::with_capacity(ngroups);
        for _ in 0..ngroups {
            groups.push((u32_at(&mut at)?, u32_at(&mut at)?));
        }
        let nmembers = u32_at(&mut at)? as usize;
        if nmembers > data.len() / 5 {
            return None;
        }
        let mut members = Vec::with_capacity(nmembers);
        for _ in 0..nmembers {
            let id = u32_at(&mut at)?;
            let b = *Boundary::ALL.get(usize::from(*data.get(at)?))?;
            at += 1;
            if id as usize >= len {
                return None;
            }
            members.push((id, b));
        }
        if groups.iter().any(|&(a, b)| a > b || b as usize > members.len()) {
            return None;
        }
        let rest = &data[at..];
        let pma = if rest.is_empty() {
            None
        } else {
            let (pma, tail) = DoubleArrayAhoCorasick::<u32>::deserialize(rest).ok()?;
            if !tail.is_empty() {
                return None;
            }
            Some(pma)
        };
        if pma.is_none() != groups.is_empty() {
            return None;
        }
        Some(Self { pma, groups, members, max_len, min_len, len })
    }

    /// Number of patterns (empty ones included): ids are `0..len()`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the matcher has no pattern.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Length of the shortest pattern: a haystack shorter than this holds no match.
    pub fn min_pattern_len(&self) -> usize {
        self.min_len
    }

    /// Length of the longest pattern (0 when there is none).
    pub fn max_pattern_len(&self) -> usize {
        self.max_len
    }

    /// Calls `f` for every occurrence of every pattern in `hay` that passes its boundary rule (the
    /// edges of `hay` count as boundaries), in order of end offset.
    pub fn find(&self, hay: &[u8], mut f: impl FnMut(Hit)) {
        self.raw(hay, |pattern, b, start, end| {
            let before = start.checked_sub(1).and_then(|i| hay.get(i).copied());
            if b.accepts(before, hay.get(end).copied()) {
                f(Hit { pattern, start, end });
            }
        });
    }

    /// Every occurrence, before the boundary check: `f(pattern, boundary, start, end)`.
    #[inline]
    fn raw(&self, hay: &[u8], mut f: impl FnMut(u32, Boundary, usize, usize)) {
        let Some(pma) = &self.pma else { return };
        if hay.len() < self.min_len {
            return;
        }
        for m in pma.find_overlapping_iter(hay) {
            let Some(&(from, to)) = self.groups.get(m.value() as usize) else { continue };
            for &(id, b) in self.members.get(from as usize..to as usize).unwrap_or_default() {
                f(id, b, m.start(), m.end());
            }
        }
    }
}

/// Search state for one stream (one direction of a TCP flow): feed its chunks in order; a match
/// straddling chunks is found exactly once, with absolute offsets.
///
/// Memory: the last [`Matcher::max_pattern_len`] bytes of the stream, plus the matches ending at
/// the last fed byte whose boundary check waits for the next byte.
#[derive(Debug, Default, Clone)]
pub struct StreamMatcher {
    /// The last bytes of the stream before `next` (at most the longest pattern's length).
    carry: Vec<u8>,
    /// Stream offset just past the bytes fed so far; `None` at the start or after a gap.
    next: Option<u64>,
    /// Matches ending at `next` whose end boundary waits for the next byte.
    pending: Vec<(StreamHit, Boundary)>,
    /// Matches accepted at a gap, reported on the next `feed` or `finish`.
    ready: Vec<StreamHit>,
    /// Scratch buffer for the bytes around a chunk edge.
    joined: Vec<u8>,
}

impl StreamMatcher {
    /// A matcher state at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Searches `chunk`, which starts at stream offset `offset`. A chunk that does not start where
    /// the previous one ended is treated as following a gap. Use the same `m` for a whole stream.
    ///
    /// Hits come in order of end offset, except that a match ending at the chunk's last byte
    /// whose boundary rule needs the next byte is reported by the next `feed` (or `finish`).
    pub fn feed(&mut self, m: &Matcher, offset: u64, chunk: &[u8], mut f: impl FnMut(StreamHit)) {
        if chunk.is_empty() {
            return;
        }
        if self.next != Some(offset) {
            self.gap();
        }
        for h in self.ready.drain(..) {
            f(h);
        }
        let first = chunk[0];
        for (h, b) in self.pending.drain(..) {
            if !b.blocks(first) {
                f(h);
            }
        }
        let end_abs = offset.saturating_add(chunk.len() as u64);
        // Matches straddling the edge between the carry and this chunk.
        let split = self.carry.len();
        if split > 0 && m.max_len > 1 {
            let prefix = &chunk[..chunk.len().min(m.max_len - 1)];
            self.joined.clear();
            self.joined.extend_from_slice(&self.carry);
            self.joined.extend_from_slice(prefix);
            let base = offset.saturating_sub(split as u64);
            let (joined, pending) = (&self.joined, &mut self.pending);
            m.raw(joined, |pattern, b, start, end| {
                if start >= split || end <= split {
                    return;
                }
                let before = start.checked_sub(1).map(|i| joined[i]);
                if before.is_some_and(|x| b.blocks(x)) {
                    return;
                }
                let h = StreamHit {
                    pattern,
                    start: base.saturating_add(start as u64),
                    end: base.saturating_add(end as u64),
                };
                match chunk.get(end - split) {
                    Some(&a) if b.blocks(a) => {}
                    Some(_) => f(h),
                    None if b == Boundary::None => f(h),
                    None => pending.push((h, b)),
                }
            });
        }
        // Matches inside this chunk.
        let last = self.carry.last().copied();
        let pending = &mut self.pending;
        m.raw(chunk, |pattern, b, start, end| {
            let before = if start == 0 { last } else { Some(chunk[start - 1]) };
            if before.is_some_and(|x| b.blocks(x)) {
                return;
            }
            let h = StreamHit {
                pattern,
                start: offset.saturating_add(start as u64),
                end: offset.saturating_add(end as u64),
            };
            match chunk.get(end) {
                Some(&a) if b.blocks(a) => {}
                Some(_) => f(h),
                None if b == Boundary::None => f(h),
                None => pending.push((h, b)),
            }
        });
        // Keep the last `max_len` bytes (one more than a straddling match needs, for the byte
        // before its start).
        let keep = m.max_len;
        if chunk.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let excess = self.carry.len().saturating_sub(keep);
            self.carry.drain(..excess);
        }
        self.next = Some(end_abs);
    }

    /// A gap in the stream: no match spans it. Matches ending just before it count as ending at a
    /// boundary; they are reported by the next [`feed`](Self::feed) or [`finish`](Self::finish).
    pub fn gap(&mut self) {
        self.ready.extend(self.pending.drain(..).map(|(h, _)| h));
        self.carry.clear();
        self.next = None;
    }

    /// End of the stream: reports the matches that ended at its last byte (the end of the stream
    /// is a boundary) and resets the state for a new stream.
    pub fn finish(&mut self, _m: &Matcher, mut f: impl FnMut(StreamHit)) {
        self.gap();
        for h in self.ready.drain(..) {
            f(h);
        }
    }
}

#[cfg(test)]
mod tests;
