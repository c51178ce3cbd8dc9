//! Raw streams: the bytes of a cleartext TCP stream of unknown protocol, or of a decrypted TLS
//! connection or QUIC stream no parser reads, searched as they come with the profile's one
//! automaton ([`StreamMatcher`], hits across chunk boundaries) and the heuristics (on each chunk
//! after the tail of the one before, [`RAW_HEURISTIC_TAIL`]).

use std::collections::BTreeSet;

use detect::fields::{self, Field};
use flow::{Chunk, FlowId};
use pipeline::Context;

use super::{Analyzer, Message, Pending, RAW_HEURISTIC_TAIL, join_encoding};
use crate::finding::Source;

/// A raw stream: its flow and `dir` (0, 1) for the flow's own stream, `2 + (id << 1 | dir)` for
/// QUIC stream `id` (ids are below 2^62).
pub(super) type RawKey = (FlowId, u64);

/// The key of the raw stream `ctx` is about (`stream`: a QUIC stream id).
pub(super) fn raw_key(ctx: &Context<'_>, stream: Option<u64>) -> RawKey {
    let dir = ctx.dir.index() as u64;
    (ctx.flow.id, stream.map_or(dir, |id| 2 + (id << 1 | dir)))
}

/// What a raw stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawSource {
    /// Cleartext TCP.
    Tcp,
    /// A decrypted TLS connection.
    Tls,
    /// A stream of a decrypted QUIC connection.
    Quic,
}

impl RawSource {
    /// The finding's `where`.
    pub(super) fn location(self) -> &'static str {
        match self {
            Self::Tcp => "tcp.payload",
            Self::Tls => "tls.payload",
            Self::Quic => "quic.payload",
        }
    }

    /// Read with keys.
    pub(super) fn decrypted(self) -> bool {
        self != Self::Tcp
    }
}

impl Analyzer {
    /// At a gap or the end of a raw stream: reports the heuristic hits held back because they
    /// touched the end of the last chunk (nothing can extend them now).
    fn flush_tail(&mut self, ctx: &Context<'_>, key: RawKey) {
        let Some((offset, tail)) = self.tails.remove(&key) else { return };
        let field =
            Field { location: self.raw_location().into(), decoded: vec![], data: tail.into() };
        let mut msg = Message {
            ctx,
            offset,
            contacts: BTreeSet::new(),
            dns_domain: None,
            found: Vec::new(),
            recur: Vec::new(),
            seen_until: field.data.len(),
            defer_at_end: false,
            decrypted: self.raw.decrypted(),
        };
        self.scan_raw_field(&mut msg, &field);
        self.store(&mut msg);
    }

    /// Raw payload of a cleartext stream of unknown protocol (or of a decrypted one), `key` the
    /// stream's.
    pub(super) fn scan_raw(&mut self, ctx: &Context<'_>, key: RawKey, chunk: &Chunk<'_>) {
        let (location, offset, bytes) = match *chunk {
            Chunk::Data { offset, bytes } => (self.raw_location(), offset, bytes),
            Chunk::Datagram(d) => ("udp.payload", 0, d),
            Chunk::Gap { .. } => {
                self.flush_tail(ctx, key);
                if let Some(s) = self.streams.get_mut(&key) {
                    s.gap();
                }
                return;
            }
            Chunk::End => {
                self.flush_tail(ctx, key);
                if let (Some(mut s), Some(m)) = (self.streams.remove(&key), self.matcher.as_ref()) {
                    let mut hits = Vec::new();
                    s.finish(m, |h| hits.push(h));
                    self.stream_hits(ctx, hits);
                }
                return;
            }
        };
        self.stats.bytes_scanned += bytes.len() as u64;
        if location != "udp.payload" {
            if let Some(m) = &self.matcher {
                let mut hits = Vec::new();
                self.streams.entry(key).or_default().feed(m, offset, bytes, |h| hits.push(h));
                self.stream_hits(ctx, hits);
            }
            // Heuristics look at each chunk after the tail of the previous one.
            let (_, tail) = self.tails.remove(&key).unwrap_or_default();
            let seen_until = tail.len();
            let data: std::borrow::Cow<'_, [u8]> = if tail.is_empty() {
                bytes.into()
            } else {
                let mut v = tail;
                v.extend_from_slice(bytes);
                v.into()
            };
            let next_tail = data[data.len().saturating_sub(RAW_HEURISTIC_TAIL)..].to_vec();
            let field = Field { location: location.into(), decoded: vec![], data };
            let mut msg = Message {
                ctx,
                offset: offset.saturating_sub(seen_until as u64),
                contacts: BTreeSet::new(),
                dns_domain: None,
                found: Vec::new(),
                recur: Vec::new(),
                seen_until,
                defer_at_end: true,
                decrypted: self.raw.decrypted(),
            };
            self.scan_raw_field(&mut msg, &field);
            self.store(&mut msg);
            let tail_offset = (offset + bytes.len() as u64).saturating_sub(next_tail.len() as u64);
            self.tails.insert(key, (tail_offset, next_tail));
            return;
        }
        let field = Field { location: location.into(), decoded: vec![], data: bytes.into() };
        self.scan_message(ctx, offset, None, false, |_, f| {
            f(&field);
            fields::FieldStats::default()
        });
    }

    fn raw_location(&self) -> &'static str {
        self.raw.location()
    }

    fn stream_hits(&mut self, ctx: &Context<'_>, hits: Vec<detect::matcher::StreamHit>) {
        for h in hits {
            let Some(v) = self.set.variants.get(h.pattern as usize) else { continue };
            let item = self.set.item(v);
            let p = Pending {
                data: item.kind,
                item: self.item_label(item),
                source: Source::Profile,
                reason: "",
                encoding: join_encoding("", &v.encoding),
                where_: self.raw_location().into(),
                time: ctx.meta.ts,
                evidence: self.evidence(
                    ctx,
                    h.start,
                    self.raw_location(),
                    &String::from_utf8_lossy(&v.bytes),
                ),
                dns_domain: None,
                len: v.bytes.len(),
                decrypted: self.raw.decrypted(),
            };
            self.stats.profile_hits += 1;
            self.push(ctx.flow.id, p);
        }
    }
}
