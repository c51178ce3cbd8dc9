//! DNS messages over UDP (one per datagram) and TCP (2-byte length prefix, RFC 1035 section
//! 4.2.2). Also mDNS (5353) and LLMNR (5355), which share the message format.
//!
//! Events: a query (QR = 0, any opcode, as tshark does) gives one [`Event::DnsQuery`] per question;
//! a response (QR = 1) gives one [`Event::DnsAnswer`] per record of its answer section (A, AAAA,
//! CNAME decoded; NS, PTR and DNAME as [`RData::Name`](crate::RData::Name); anything else raw).
//! Authority and additional sections give nothing.
//!
//! Lenient: questions are reported even when later sections are broken, forward compression
//! pointers are followed (as tshark does), and a name cut by a pointer loop or a length limit is
//! reported with the labels read before the problem (counted in [`Anomalies::dns_bad_name`]). A
//! message that stops parsing before its end (header, question or answer section) is counted in
//! [`Anomalies::dns_malformed`]; the events before that point are kept.
//!
//! Name rendering, and how it compares with tshark 4.0 (`dns.qry.name`, checked against the
//! corpus references):
//!
//! | input | ours | tshark |
//! | --- | --- | --- |
//! | letters | lower-case (`wpad.home`) | as sent (`wpad.HOME`) |
//! | root name | empty string | `<Root>` |
//! | space, other printable ASCII | kept | kept |
//! | `.` or `\` inside a label | `\.`, `\\` | kept as is (ambiguous) |
//! | control bytes, DEL | `\DDD` decimal (0x12 is `\018`, CR is `\013`) | `\ooo` octal or C escape (`\022`, `\r`) |
//! | valid UTF-8 | kept | kept |
//! | invalid UTF-8 | `\DDD` per byte | U+FFFD |
//! | pointer loop | labels before the loop | `<Name contains a pointer that loops>` |
//! | label type 0b01/0b10 | no event, message malformed (after a pointer: labels before it) | `<Unknown extended label>` |
//!
//! So names agree with tshark, compared ASCII case-insensitively, for every name made of printable
//! ASCII (other than `.` and `\` inside labels) and valid UTF-8; bytes 0 to 6 also agree (`\000`
//! to `\006` read the same in decimal and octal; tshark writes 7 to 13 as C escapes, `\a` to `\r`).
//! On the corpus (403 captures, 656 reference names) every difference is one of these rows, a
//! packet the earlier stages do not decode, or tshark's header-only DNS heuristic, which it runs
//! on every UDP port (zeek's `quic/vector-max-size-crash`: a fuzzer datagram to UDP 443);
//! phonehome decodes DNS by port only (see `crate::Session`). The reasons are listed per capture
//! in `crates/phonehome/tests/known-differences.tsv`.

use flow::{Chunk, Direction};

use crate::{Anomalies, Event};

mod name;
mod parse;
#[cfg(test)]
mod tests;

/// Longest DNS message accepted over TCP (the 2-byte length allows 65,535).
pub const MAX_TCP_MESSAGE: usize = 65_535;
/// Longest name on the wire in octets, length octets and root octet included (RFC 1035 section
/// 2.3.4). Longer names are cut there and counted as bad names.
pub const MAX_NAME_WIRE: usize = 255;
/// Most labels in one name: what fits in [`MAX_NAME_WIRE`] octets (127 one-octet labels).
pub const MAX_LABELS: usize = 127;
/// Longest rendered name, in bytes of text: 1,025 as in Suricata (`rust/src/dns/parser.rs`, "what
/// DNSMasq uses"). With escapes at most 4 bytes per octet a [`MAX_NAME_WIRE`] name stays below it;
/// the check is a second fence.
pub const MAX_NAME_LEN: usize = 1025;
/// Most compression pointers followed in one name; one more is a loop. A valid name has at most
/// one pointer per label plus one ([`MAX_LABELS`] + 1); with [`MAX_NAME_WIRE`] it bounds the work
/// of any loop.
pub const MAX_POINTER_HOPS: usize = 128;
/// Most questions (in a query) or answers (in a response) turned into events per message; the
/// rest of the message is dropped and counted in [`Anomalies::dns_malformed`]. It bounds the
/// output of a hostile 64 KiB message whose records all point at one long name.
pub const MAX_RECORDS_PER_SECTION: usize = 512;
/// Capacity of a TCP reassembly buffer kept after a message: a bigger one is freed.
const KEEP_CAPACITY: usize = 4 * 1024;

/// DNS parser for one flow.
#[derive(Debug, Default)]
pub struct DnsParser {
    /// TCP state per direction ([`Direction::index`]).
    tcp: [TcpDir; 2],
}

impl DnsParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self::default()
    }

    /// One UDP payload: one whole message.
    pub fn datagram(&mut self, bytes: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) {
        parse::parse_message(bytes, out, an);
    }

    /// TCP stream data of one direction: length-prefixed messages, split anywhere. Works when fed
    /// one byte at a time; buffers at most one message ([`MAX_TCP_MESSAGE`]) per direction. A gap
    /// drops the partial message and framing restarts at the next data chunk. A
    /// [`Chunk::Datagram`] is parsed as one whole message.
    pub fn stream(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let Some(state) = self.tcp.get_mut(dir.index()) else {
            return;
        };
        match chunk {
            Chunk::Data { offset, bytes } => state.data(offset, bytes, out, an),
            Chunk::Gap { offset, len } => {
                an.gaps += 1;
                state.lose(offset.saturating_add(len));
            }
            Chunk::End => {
                if !state.partial.is_empty() {
                    an.dns_malformed += 1;
                }
                state.partial = Vec::new();
            }
            Chunk::Datagram(bytes) => parse::parse_message(bytes, out, an),
        }
    }
}

/// Result of looking for one length-prefixed message at the start of TCP bytes.
///
/// Invariants (as Suricata's `AppLayerResult`): `consumed <= input.len()`; with `Incomplete`,
/// `input.len() + needed` is the length of the whole frame, so `needed > 0`.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame<'a> {
    /// A whole message (prefix removed) and the bytes it took, prefix included.
    Done { msg: &'a [u8], consumed: usize },
    /// The frame goes on past the input: `needed` more bytes.
    Incomplete { needed: usize },
}

/// Splits the first frame off `input`.
fn frame(input: &[u8]) -> Frame<'_> {
    let Some(len) = frame_len(input) else {
        return Frame::Incomplete { needed: 2usize.saturating_sub(input.len()).max(1) };
    };
    let total = len.saturating_add(2);
    match input.get(2..total) {
        Some(msg) => Frame::Done { msg, consumed: total },
        None => Frame::Incomplete { needed: total.saturating_sub(input.len()) },
    }
}

/// The message length announced by a frame's 2-byte prefix, once both bytes are there.
fn frame_len(input: &[u8]) -> Option<usize> {
    match input {
        [hi, lo, ..] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// Framing state of one TCP direction.
#[derive(Debug, Default)]
struct TcpDir {
    /// A frame (prefix included) split across chunks; at most 2 + [`MAX_TCP_MESSAGE`] bytes.
    partial: Vec<u8>,
    /// Stream offset of the next byte expected, once data was seen.
    next: Option<u64>,
    /// Set by a gap: the next data chunk must start with a plausible frame (a length of at least
    /// a header), else that chunk is dropped.
    resync: bool,
}

impl TcpDir {
    /// Bytes were lost up to stream offset `next`: drop the partial frame and resync.
    fn lose(&mut self, next: u64) {
        self.partial = Vec::new();
        self.resync = true;
        self.next = Some(next);
    }

    /// In-order bytes at stream offset `offset`.
    fn data(&mut self, offset: u64, bytes: &[u8], out: &mut Vec<Event>, an: &mut Anomalies) {
        let mut bytes = bytes;
        if let Some(next) = self.next {
            if offset > next {
                // A hole the flow stage did not report: handle it as a gap.
                an.gaps += 1;
                self.lose(offset);
            } else if offset < next {
                // Already seen (the flow stage should not do this): skip the overlap.
                let seen = usize::try_from(next - offset).unwrap_or(usize::MAX);
                bytes = bytes.get(seen..).unwrap_or_default();
            }
        }
        let start = offset.max(self.next.unwrap_or(offset));
        self.next = Some(start.saturating_add(bytes.len() as u64));
        if bytes.is_empty() {
            return;
        }

        let mut rest = bytes;
        if !self.partial.is_empty() {
            // At most two rounds: complete the length prefix, then the message.
            loop {
                let needed = match frame(&self.partial) {
                    Frame::Incomplete { needed } => needed,
                    Frame::Done { .. } => 0,
                };
                let (head, tail) = rest.split_at(needed.min(rest.len()));
                self.partial.extend_from_slice(head);
                rest = tail;
                if !self.plausible(frame_len(&self.partial)) {
                    self.partial.clear();
                    return;
                }
                match frame(&self.partial) {
                    Frame::Done { msg, .. } => {
                        parse::parse_message(msg, out, an);
                        break;
                    }
                    Frame::Incomplete { .. } if rest.is_empty() => return,
                    Frame::Incomplete { .. } => {}
                }
            }
            self.partial.clear();
            if self.partial.capacity() > KEEP_CAPACITY {
                self.partial = Vec::new();
            }
        }
        while !rest.is_empty() {
            if !self.plausible(frame_len(rest)) {
                return;
            }
            match frame(rest) {
                Frame::Done { msg, consumed } => {
                    parse::parse_message(msg, out, an);
                    rest = rest.get(consumed..).unwrap_or_default();
                }
                Frame::Incomplete { .. } => {
                    self.partial.extend_from_slice(rest);
                    return;
                }
            }
        }
    }

    /// After a gap, whether a frame announcing `len` may start a message (unknown lengths pass).
    /// Clears the resync state when it does; when it does not, the caller drops the chunk's rest.
    fn plausible(&mut self, len: Option<usize>) -> bool {
        match len {
            Some(len) if self.resync => {
                self.resync = len < parse::HEADER_LEN;
                !self.resync
            }
            _ => true,
        }
    }
}
