//! QUIC decryption with logged TLS 1.3 secrets (RFC 9001): Handshake, 0-RTT and 1-RTT packets of
//! both directions, v1 and v2, then HTTP/3 over the reassembled streams.
//!
//! - Secrets: the client random of the ClientHello the Initial parser found selects the
//!   connection's secrets in the [`KeyLog`]; the cipher suite is the one whose keys open the
//!   first protected packet (a 32-byte secret means AES-128-GCM or ChaCha20-Poly1305, 48 bytes
//!   AES-256-GCM). Handshake packets use the handshake secrets, 0-RTT the client's early secret,
//!   1-RTT the traffic secrets; a 1-RTT packet whose key phase bit flips is tried with the next
//!   generation (RFC 9001 §6) and, if it opens, the keys move on.
//! - Packets: every packet of a datagram (long headers by their Length, a short header to the
//!   end); a short header's Destination Connection ID has one of the lengths the receiver chose
//!   (its Source Connection IDs in long headers, its NEW_CONNECTION_ID frames). Every packet is
//!   authenticated before use; one that opens with no key is skipped (counted: `quic_failed`).
//! - Handshake: the CRYPTO frames of Handshake packets are reassembled per side with gaps
//!   explicit (a second [`Streams`]) and read as TLS handshake messages
//!   ([`crate::tls::decrypt::hs::HsReader`]); the server's EncryptedExtensions gives the ALPN
//!   the connection runs. 1-RTT CRYPTO frames (NewSessionTicket only) are not needed and skipped.
//! - Streams: STREAM frames reassembled per stream and side ([`super::streams`]). The ALPN
//!   decides what reads them: `h3` (and its drafts) [`crate::http3::H3Conn`]; any other protocol
//!   (DNS over QUIC, vendor push...) goes out stream by stream as [`Event::DecryptedStream`] for
//!   raw search. Without the server's choice (no handshake secrets logged, or the capture started
//!   late) the client's offer decides: HTTP/3 if it offered it.
//!
//! The outcome ([`Decryption`]) is per connection, as for TLS.

use flow::{Chunk, Direction};

use super::frames::{self, AppFrame};
use super::keys::PacketKeys;
use super::packet::{PacketType, parse_long};
use super::streams::Streams;
use crate::http3::H3Conn;
use crate::tls::decrypt::Decryption;
use crate::tls::decrypt::cipher::{Suite, suite};
use crate::tls::decrypt::hs::{self, HsReader};
use crate::tls::keylog::{KeyLog, Secret};
use crate::{Anomalies, Event, PlainChunk};

/// Connection id lengths remembered per side.
const MAX_CID_LENS: usize = 4;

#[derive(Debug, Default)]
struct Side {
    handshake: Option<PacketKeys>,
    early: Option<PacketKeys>,
    app: Option<PacketKeys>,
    phase: bool,
    /// Largest packet number per space: Handshake, application data (0-RTT and 1-RTT share it).
    largest: [Option<u64>; 2],
    /// Lengths of the connection ids this side chose (the DCIDs of packets sent *to* it).
    cid_lens: Vec<usize>,
}

/// The logged secrets of a connection.
#[derive(Debug, Default)]
struct Secrets {
    handshake: [Option<Secret>; 2],
    app: [Option<Secret>; 2],
    early: Option<Secret>,
}

/// What the streams of a connection carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Http3,
    /// Searched as raw streams.
    Raw,
}

/// The Handshake-space CRYPTO streams of both sides and what they said.
#[derive(Debug, Default)]
struct Handshake {
    /// Reassembly, stream id 0 per side.
    crypto: Streams,
    reader: [HsReader; 2],
    /// A side's handshake stream can no longer be framed (a gap, an oversized message).
    broken: [bool; 2],
    /// The protocol the server chose (its EncryptedExtensions).
    alpn: Option<String>,
    /// The server certificate's names (its Certificate), until taken.
    cert: Option<crate::CertNames>,
}

impl Handshake {
    /// One CRYPTO frame of a Handshake packet sent by `dir` (`client` is the client's side).
    fn frame(&mut self, dir: Direction, client: Direction, offset: u64, data: &[u8]) {
        let d = dir.index();
        let (reader, broken) = (&mut self.reader[d], &mut self.broken[d]);
        let (alpn, cert) = (&mut self.alpn, &mut self.cert);
        self.crypto.frame(dir, 0, offset, data, false, &mut |_, c| match c {
            Chunk::Data { bytes, .. } if !*broken => {
                *broken = !reader.feed(bytes, |typ, body| {
                    if dir != client && typ == hs::ENCRYPTED_EXTENSIONS {
                        *alpn = hs::encrypted_extensions_alpn(body);
                    }
                    if dir != client && typ == hs::CERTIFICATE && cert.is_none() {
                        *cert = crate::tls::x509::certificate13_message(body);
                    }
                });
            }
            Chunk::Gap { .. } => *broken = true,
            _ => {}
        });
    }
}

/// Decrypts one QUIC connection.
#[derive(Debug)]
pub(crate) struct QuicDecryptor {
    v2: bool,
    client: Direction,
    random: [u8; 32],
    /// The client offered HTTP/3 in its ClientHello.
    offered_h3: bool,
    secrets: Option<Secrets>,
    suite: Option<Suite>,
    sides: [Side; 2],
    handshake: Handshake,
    /// Settled at the first stream byte.
    content: Option<Content>,
    streams: Streams,
    h3: H3Conn,
    decrypted: bool,
    failed: u64,
    looked_up: bool,
    buf: Vec<u8>,
}

impl QuicDecryptor {
    /// A decryptor for the connection whose ClientHello had `random` (and offered HTTP/3 if
    /// `offered_h3`), `client` its sending side.
    pub(crate) fn new(
        v2: bool,
        client: Direction,
        random: [u8; 32],
        offered_h3: bool,
        decode_responses: bool,
    ) -> Self {
        Self {
            v2,
            client,
            random,
            offered_h3,
            secrets: None,
            suite: None,
            sides: Default::default(),
            handshake: Handshake::default(),
            content: None,
            streams: Streams::default(),
            h3: H3Conn::new(decode_responses),
            decrypted: false,
            failed: 0,
            looked_up: false,
            buf: Vec::new(),
        }
    }

    /// The outcome: decrypted once a packet opened; no keys when the key log has none for it.
    pub(crate) fn outcome(&self) -> Decryption {
        if self.decrypted {
            Decryption::Decrypted
        } else if self.looked_up && self.secrets.is_none() {
            Decryption::NoKeys
        } else if self.failed > 0 {
            Decryption::Failed
        } else {
            Decryption::NoKeys
        }
    }

    fn lookup(&mut self, keys: &KeyLog) {
        if self.secrets.is_some() || (self.looked_up && !keys.streaming()) {
            return;
        }
        self.looked_up = true;
        let Some(s) = keys.get(&self.random) else { return };
        let c = self.client.index();
        let mut secrets = Secrets::default();
        secrets.handshake[c].clone_from(&s.client_handshake);
        secrets.handshake[1 - c].clone_from(&s.server_handshake);
        secrets.app[c].clone_from(&s.client_app);
        secrets.app[1 - c].clone_from(&s.server_app);
        secrets.early.clone_from(&s.client_early);
        if secrets.handshake.iter().chain(&secrets.app).any(Option::is_some) {
            self.secrets = Some(secrets);
        }
    }

    /// Keys for `epoch` of side `d` (0 handshake, 1 early, 2 app) with their suite: the settled
    /// suite's, or every candidate's (a 48-byte secret means AES-256-GCM, 32 bytes AES-128-GCM or
    /// ChaCha20-Poly1305) until a packet settles it.
    fn candidates(&self, d: usize, epoch: usize) -> Vec<(PacketKeys, Suite)> {
        let Some(s) = &self.secrets else { return Vec::new() };
        let secret = match epoch {
            0 => s.handshake[d].as_deref(),
            1 => s.early.as_deref(),
            _ => s.app[d].as_deref(),
        };
        let Some(secret) = secret else { return Vec::new() };
        let suites: Vec<Suite> = match (self.suite, secret.len()) {
            (Some(su), _) => vec![su],
            (None, 48) => suite(0x1302).into_iter().collect(),
            (None, _) => [0x1301, 0x1303].iter().filter_map(|&id| suite(id)).collect(),
        };
        suites
            .into_iter()
            .filter_map(|su| Some((PacketKeys::new(su, self.v2, secret)?, su)))
            .collect()
    }

    /// One UDP payload sent by `dir`.
    pub(crate) fn datagram(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        keys: &KeyLog,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        self.lookup(keys);
        let mut rest = bytes;
        while let Some(&first) = rest.first() {
            if first & 0x80 != 0 {
                let Ok(hdr) = parse_long(rest) else { return };
                let Some(pkt) = rest.get(..hdr.end) else { return };
                rest = &rest[hdr.end..];
                // The sender chose its SCID: packets to it carry that length.
                let side = &mut self.sides[dir.index()];
                if !side.cid_lens.contains(&hdr.scid.len()) && side.cid_lens.len() < MAX_CID_LENS {
                    side.cid_lens.push(hdr.scid.len());
                }
                let epoch = match hdr.ptype {
                    PacketType::Handshake => 0,
                    PacketType::ZeroRtt if dir == self.client => 1,
                    _ => continue,
                };
                if !self.packet(dir, pkt, hdr.pn_offset, true, epoch, out, an) {
                    self.count_failure(dir, epoch, an);
                }
            } else {
                // Short header: DCID of a length the receiver chose.
                let lens = self.sides[1 - dir.index()].cid_lens.clone();
                let lens = if lens.is_empty() { vec![0, 8, 20] } else { lens };
                if !lens.into_iter().any(|len| self.packet(dir, rest, 1 + len, false, 2, out, an)) {
                    self.count_failure(dir, 2, an);
                }
                return;
            }
        }
    }

    /// A packet whose epoch has logged secrets did not open (wrong or foreign keys, damage):
    /// counted; a packet of an epoch without secrets is not a failure.
    fn count_failure(&mut self, dir: Direction, epoch: usize, an: &mut Anomalies) {
        let d = dir.index();
        let logged = self.secrets.as_ref().is_some_and(|s| match epoch {
            0 => s.handshake[d].is_some(),
            1 => s.early.is_some(),
            _ => s.app[d].is_some(),
        });
        if logged {
            self.failed += 1;
            an.quic_undecryptable += 1;
        }
    }

    /// Opens one packet; true if it authenticated.
    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        dir: Direction,
        pkt: &[u8],
        pn_offset: usize,
        long: bool,
        epoch: usize,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) -> bool {
        if self.secrets.is_none() {
            return false;
        }
        let d = dir.index();
        let space = usize::from(epoch != 0);
        let largest = self.sides[d].largest[space];
        // Current keys first (with the next generation on a key phase flip), else candidates.
        let mut buf = std::mem::take(&mut self.buf);
        let mut opened = None;
        let have = match epoch {
            0 => self.sides[d].handshake.is_some(),
            1 => self.sides[d].early.is_some(),
            _ => self.sides[d].app.is_some(),
        };
        if have {
            let side = &mut self.sides[d];
            let k = match epoch {
                0 => side.handshake.as_ref(),
                1 => side.early.as_ref(),
                _ => side.app.as_ref(),
            };
            if let Some(k) = k {
                buf.clear();
                buf.extend_from_slice(pkt);
                opened = k.open(&mut buf, pn_offset, long, largest);
            }
            if opened.is_none()
                && epoch == 2
                && let Some(next) = side.app.as_ref().and_then(PacketKeys::next)
            {
                buf.clear();
                buf.extend_from_slice(pkt);
                if let Some(o) = next.open(&mut buf, pn_offset, long, largest) {
                    side.phase = o.first & 0x04 != 0;
                    side.app = Some(next);
                    opened = Some(o);
                }
            }
        } else {
            for (k, su) in self.candidates(d, epoch) {
                buf.clear();
                buf.extend_from_slice(pkt);
                if let Some(o) = k.open(&mut buf, pn_offset, long, largest) {
                    self.suite = Some(su);
                    if epoch == 2 {
                        self.sides[d].phase = o.first & 0x04 != 0;
                    }
                    let side = &mut self.sides[d];
                    match epoch {
                        0 => side.handshake = Some(k),
                        1 => side.early = Some(k),
                        _ => side.app = Some(k),
                    }
                    opened = Some(o);
                    break;
                }
            }
        }
        let Some(o) = opened else {
            self.buf = buf;
            return false;
        };
        self.decrypted = true;
        let side = &mut self.sides[d];
        side.largest[space] = Some(side.largest[space].map_or(o.pn, |l| l.max(o.pn)));
        let payload = &buf[o.payload.clone()];
        let client = self.client;
        if epoch == 0 {
            let hs = &mut self.handshake;
            let _ = frames::walk_app(payload, |f| {
                if let AppFrame::Crypto { offset, data } = f {
                    hs.frame(dir, client, offset, data);
                }
            });
        } else {
            let mut new_cids = Vec::new();
            let content =
                *self.content.get_or_insert_with(|| match self.handshake.alpn.as_deref() {
                    Some(alpn) if is_h3(alpn) => Content::Http3,
                    Some(_) => Content::Raw,
                    None if self.offered_h3 => Content::Http3,
                    None => Content::Raw,
                });
            let (h3, streams) = (&mut self.h3, &mut self.streams);
            let _ = frames::walk_app(payload, |f| match f {
                AppFrame::Stream { id, offset, data, fin } => {
                    streams.frame(dir, id, offset, data, fin, &mut |id, c: Chunk<'_>| {
                        deliver(content, client, h3, dir, id, c, out, an);
                    });
                }
                AppFrame::NewConnectionId(cid) => new_cids.push(cid.len()),
                AppFrame::Crypto { .. } => {}
            });
            let side = &mut self.sides[d];
            for len in new_cids {
                if !side.cid_lens.contains(&len) && side.cid_lens.len() < MAX_CID_LENS {
                    side.cid_lens.push(len);
                }
            }
        }
        self.buf = buf;
        true
    }

    /// The server certificate's names, once read from the Handshake space (given once).
    pub(crate) fn take_cert(&mut self) -> Option<crate::CertNames> {
        self.handshake.cert.take()
    }

    /// The protocol the server chose in its EncryptedExtensions, once read.
    #[cfg(test)]
    pub(crate) fn alpn(&self) -> Option<&str> {
        self.handshake.alpn.as_deref()
    }

    /// The connection is over: streams and messages still open go out.
    pub(crate) fn finish(&mut self, out: &mut Vec<Event>, an: &mut Anomalies) {
        let (client, h3) = (self.client, &mut self.h3);
        let content = self.content.unwrap_or(Content::Http3);
        self.streams.finish(|dir, id, c| deliver(content, client, h3, dir, id, c, out, an));
        an.http2_capped += self.streams.capped;
        self.streams.capped = 0;
        h3.close(client, out, an);
    }
}

/// An ALPN protocol id of HTTP/3: `h3` or one of its drafts (`h3-29`...).
pub(super) fn is_h3(alpn: &str) -> bool {
    alpn == "h3" || alpn.starts_with("h3-")
}

/// In-order bytes of stream `id` to what reads the connection's content.
#[allow(clippy::too_many_arguments)]
fn deliver(
    content: Content,
    client: Direction,
    h3: &mut H3Conn,
    dir: Direction,
    id: u64,
    chunk: Chunk<'_>,
    out: &mut Vec<Event>,
    an: &mut Anomalies,
) {
    match content {
        Content::Http3 => h3.stream(client, dir, id, chunk, out, an),
        Content::Raw => {
            if let Some(chunk) = PlainChunk::of(chunk) {
                out.push(Event::DecryptedStream { dir, stream: Some(id), chunk });
            }
        }
    }
}
