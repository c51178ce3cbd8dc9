//! QUIC v1/v2 client Initial decryption (RFC 9001 initial keys): the ClientHello a client sends in
//! its Initial packets.
//!
//! For each client datagram, every coalesced long-header packet is walked by its Length field.
//! Initial packets are decrypted with the client Initial keys derived from the Destination
//! Connection ID (v1, v2, drafts 23-34), their frames parsed, and the CRYPTO data reassembled at
//! its offsets, in any order and across packets and datagrams. Once the CRYPTO stream holds the
//! complete ClientHello, [`Event::QuicInitial`] is emitted once for that connection.
//!
//! Connections: keys are derived from the DCID of the first Initial that decrypts with them (the
//! client's original DCID). Later Initials carrying another DCID (the server's choice after its
//! first Initial) are tried against the known keys first and remembered as aliases; a DCID that
//! needs new keys (after a Retry, or a new connection on the same 5-tuple) starts a new
//! connection, which reports its own ClientHello. At most [`MAX_CONNS`] per flow.
//!
//! Direction: Initials are taken from the client-to-server side. Until one decrypts there, the
//! other side is tried too without counting failures (the flow stage may have guessed the client
//! wrong); the side that first decrypts is the client side from then on.
//!
//! Cost: after the ClientHello, short-header packets end the walk at once and long headers of a
//! known DCID are skipped without decryption. Anomalies: an Initial that does not decrypt, has
//! malformed frames, a CRYPTO stream not starting with a ClientHello, or CRYPTO data beyond
//! [`MAX_CRYPTO_LEN`] counts `quic_undecryptable`.

use flow::Direction;

use crate::tls::keylog::KeyLog;
use crate::{Anomalies, Event, QuicInitial};

mod crypto;
mod decrypt;
mod frames;
mod keys;
mod packet;
mod streams;

pub use streams::{MAX_OOO_BYTES as MAX_STREAM_OOO_BYTES, MAX_STREAMS as MAX_QUIC_STREAMS};
#[cfg(test)]
pub(crate) mod testpcap;
#[cfg(test)]
mod tests;

use crypto::InitialKeys;
use frames::{CryptoStream, HelloState};
use packet::{HeaderError, LongHeader, PacketType, VersionInfo, parse_long, version_info};

/// CRYPTO bytes buffered per connection: the ClientHello must fit (a post-quantum ClientHello
/// is ~2 KiB; same bound as [`crate::tls::MAX_HANDSHAKE_LEN`]).
pub const MAX_CRYPTO_LEN: usize = 64 * 1024;

/// Connections (distinct Initial key derivations) tracked per flow; the oldest is dropped
/// beyond this. One is normal, two after a Retry.
pub const MAX_CONNS: usize = 4;

/// Extra Destination Connection IDs remembered per connection (the server-chosen ones).
pub const MAX_ALIASES: usize = 4;

/// One QUIC connection seen in the flow, keyed by its Initial keys.
#[derive(Debug)]
struct Conn {
    version: VersionInfo,
    /// DCIDs seen with these keys; the first is the one they were derived from.
    dcids: Vec<Vec<u8>>,
    keys: InitialKeys,
    largest_pn: Option<u64>,
    crypto: CryptoStream,
    /// The ClientHello was reported (or found invalid): later packets are skipped.
    done: bool,
    /// CRYPTO data beyond the limit was already counted.
    capped: bool,
    /// The ClientHello's random and whether it offered HTTP/3, once complete.
    random: Option<([u8; 32], bool)>,
}

impl Conn {
    fn matches(&self, version: u32, dcid: &[u8]) -> bool {
        self.version.id == version && self.dcids.iter().any(|d| d == dcid)
    }
}

/// QUIC parser for one UDP flow.
#[derive(Debug, Default)]
pub struct QuicParser {
    conns: Vec<Conn>,
    /// The side whose Initials decrypted with client keys.
    client_dir: Option<Direction>,
    /// The first complete ClientHello: its random, whether the version is v2, whether it
    /// offered HTTP/3.
    random: Option<([u8; 32], bool, bool)>,
    /// Decryption with logged secrets, once a ClientHello gave the client random.
    dec: Option<Box<decrypt::QuicDecryptor>>,
    /// Undo the content coding of HTTP/3 response bodies.
    decode_responses: bool,
}

impl QuicParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self { decode_responses: true, ..Self::default() }
    }

    /// A parser that leaves HTTP/3 response bodies as sent unless `decode_responses`.
    pub fn with_options(decode_responses: bool) -> Self {
        Self { decode_responses, ..Self::default() }
    }

    /// Decrypts the connection with the secrets of `keys` (see `decrypt.rs`): call with each
    /// datagram after [`Self::datagram`]; HTTP/3 events go to `out`. Costs nothing while `keys` is
    /// empty.
    pub fn decrypt(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        keys: &KeyLog,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        if self.dec.is_none() {
            if keys.is_empty() {
                return;
            }
            let (Some((random, v2, offered_h3)), Some(client)) = (self.random, self.client_dir)
            else {
                return;
            };
            self.dec = Some(Box::new(decrypt::QuicDecryptor::new(
                v2,
                client,
                random,
                offered_h3,
                self.decode_responses,
            )));
        }
        if let Some(d) = &mut self.dec {
            d.datagram(dir, bytes, keys, out, an);
            if let Some(names) = d.take_cert() {
                out.push(Event::TlsCertificate(names));
            }
        }
    }

    /// The flow ended: HTTP/3 messages still open go out (truncated).
    pub fn finish(&mut self, out: &mut Vec<Event>, an: &mut Anomalies) {
        if let Some(d) = &mut self.dec {
            d.finish(out, an);
        }
    }

    /// The protocol the server chose in its (decrypted) EncryptedExtensions.
    #[cfg(test)]
    pub(crate) fn server_alpn(&self) -> Option<&str> {
        self.dec.as_ref().and_then(|d| d.alpn())
    }

    /// What decryption made of the connection, when secrets were known.
    pub fn decryption(&self) -> Option<crate::Decryption> {
        self.dec.as_ref().map(|d| d.outcome())
    }

    /// One UDP payload of this flow.
    pub fn datagram(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        // Failures count only on the side that is (or is assumed to be) the client.
        let count = match self.client_dir {
            Some(d) if d != dir => return,
            Some(_) => true,
            None => dir == Direction::ToServer,
        };
        let mut rest = bytes;
        while !rest.is_empty() {
            let hdr = match parse_long(rest) {
                Ok(h) => h,
                Err(HeaderError::Skip) => return,
                Err(HeaderError::BadInitial) => {
                    an.quic_undecryptable += u64::from(count);
                    return;
                }
            };
            let Some(pkt) = rest.get(..hdr.end) else {
                // Truncated (snap length) or a Length pointing past the datagram.
                an.quic_undecryptable += u64::from(count && hdr.ptype == PacketType::Initial);
                return;
            };
            rest = &rest[hdr.end..];
            if hdr.ptype == PacketType::Initial && !self.initial(dir, &hdr, pkt, out) {
                an.quic_undecryptable += u64::from(count);
            }
        }
    }

    /// One Initial packet. False if it does not decrypt or its content is broken.
    fn initial(
        &mut self,
        dir: Direction,
        hdr: &LongHeader<'_>,
        pkt: &[u8],
        out: &mut Vec<Event>,
    ) -> bool {
        let version = hdr.version.id;
        let matched = self.conns.iter().position(|c| c.matches(version, hdr.dcid));
        if let Some(i) = matched
            && self.conns[i].done
        {
            return true; // already reported: no need to decrypt
        }
        let mut buf = Vec::new();
        // Known keys first: the matching connection, then the others, newest first.
        let order =
            matched.into_iter().chain((0..self.conns.len()).rev().filter(|&i| Some(i) != matched));
        for i in order {
            let c = &mut self.conns[i];
            if c.version.id != version {
                continue;
            }
            let Some((pn, payload)) = c.keys.open(pkt, hdr.pn_offset, c.largest_pn, &mut buf)
            else {
                continue;
            };
            self.client_dir.get_or_insert(dir);
            c.largest_pn = Some(c.largest_pn.map_or(pn, |l| l.max(pn)));
            if matched != Some(i) && c.dcids.len() <= MAX_ALIASES {
                c.dcids.push(hdr.dcid.to_vec());
            }
            let ok = c.done || process(c, &buf[payload], out);
            if self.random.is_none()
                && let Some((r, h3)) = c.random
            {
                self.random = Some((r, c.version.v2, h3));
            }
            return ok;
        }
        // New keys from this DCID, unless they are the ones that just failed.
        if matched.is_some_and(|i| self.conns[i].dcids[0] == hdr.dcid) {
            return false;
        }
        let Some(keys) = InitialKeys::client(hdr.version, hdr.dcid) else { return false };
        let Some((pn, payload)) = keys.open(pkt, hdr.pn_offset, None, &mut buf) else {
            return false;
        };
        self.client_dir.get_or_insert(dir);
        let mut c = Conn {
            version: hdr.version,
            dcids: vec![hdr.dcid.to_vec()],
            keys,
            largest_pn: Some(pn),
            crypto: CryptoStream::default(),
            done: false,
            capped: false,
            random: None,
        };
        let ok = process(&mut c, &buf[payload], out);
        if self.random.is_none()
            && let Some((r, h3)) = c.random
        {
            self.random = Some((r, c.version.v2, h3));
        }
        if self.conns.len() >= MAX_CONNS {
            self.conns.remove(0);
        }
        self.conns.push(c);
        ok
    }
}

/// Frames of a decrypted Initial of a connection still waiting for its ClientHello. False if the
/// frames or the CRYPTO stream are broken (counted once).
fn process(c: &mut Conn, payload: &[u8], out: &mut Vec<Event>) -> bool {
    let mut capped = false;
    let walked = frames::walk(payload, |offset, data| {
        capped |= c.crypto.insert(offset, data).is_err();
    });
    let mut ok = walked.is_ok();
    if capped && !c.capped {
        c.capped = true;
        ok = false;
    }
    match c.crypto.hello() {
        HelloState::Pending => {}
        HelloState::Complete(body) => {
            let random = crate::tls::decrypt::hs::client_info(body).map(|i| i.random);
            match crate::tls::parse_client_hello(body) {
                Some(hello) => {
                    let h3 = hello.alpn.iter().any(|a| decrypt::is_h3(a));
                    c.random = random.map(|r| (r, h3));
                    out.push(Event::QuicInitial(QuicInitial { version: c.version.id, hello }))
                }
                None => {
                    c.random = random.map(|r| (r, false));
                    ok = false;
                }
            }
            finish(c);
        }
        HelloState::Invalid => {
            ok = false;
            finish(c);
        }
    }
    ok
}

/// The connection's ClientHello is settled: free the CRYPTO buffer.
fn finish(c: &mut Conn) {
    c.done = true;
    c.crypto = CryptoStream::default();
}

/// True if `payload` starts like a QUIC long-header Initial packet of a version we decrypt (v1,
/// v2, drafts 23-34): the header parses up to its Length field, connection ids are at most 20
/// bytes. The fixed bit is not required (it may be greased, RFC 9287); the packet may be cut.
pub fn looks_like_initial(payload: &[u8]) -> bool {
    parse_long(payload).is_ok_and(|h| h.ptype == PacketType::Initial)
}

/// Builds a protected client Initial packet (no token, empty Source Connection ID) carrying the
/// plaintext frames `payload`, as a client of `version` would send it to `dcid`. For tests and
/// fuzzing (the decryptor's frame parser is only reachable through valid packets). `None` for an
/// unknown version, a DCID over 20 bytes, `pn_len` outside 1..=4, or a payload too short to
/// sample (`payload.len() + pn_len < 4`: pad with PADDING frames).
pub fn seal_client_initial(
    version: u32,
    dcid: &[u8],
    pn: u32,
    pn_len: usize,
    payload: &[u8],
) -> Option<Vec<u8>> {
    seal_initial(version, dcid, dcid, pn, pn_len, payload)
}

/// [`seal_client_initial`] with keys derived from `key_dcid` while the header carries
/// `header_dcid` (what a client does after the server picked a new connection id).
pub(crate) fn seal_initial(
    version: u32,
    key_dcid: &[u8],
    header_dcid: &[u8],
    pn: u32,
    pn_len: usize,
    payload: &[u8],
) -> Option<Vec<u8>> {
    let info = version_info(version)?;
    if header_dcid.len() > packet::MAX_CID_LEN
        || !(1..=4).contains(&pn_len)
        || payload.len() + pn_len < 4
    {
        return None;
    }
    let keys = InitialKeys::client(info, key_dcid)?;
    let length = pn_len + payload.len() + crypto::TAG_LEN;
    let first = 0xc0 | info.initial_type_bits() << 4 | u8::try_from(pn_len - 1).ok()?;
    let mut pkt = Vec::with_capacity(32 + length);
    pkt.push(first);
    pkt.extend_from_slice(&version.to_be_bytes());
    pkt.push(u8::try_from(header_dcid.len()).ok()?);
    pkt.extend_from_slice(header_dcid);
    pkt.push(0); // SCID length
    pkt.push(0); // token length
    match u16::try_from(length) {
        Ok(l) if l < 0x4000 => pkt.extend_from_slice(&(0x4000 | l).to_be_bytes()),
        _ => {
            let l = u32::try_from(length).ok().filter(|&l| l < 1 << 30)?;
            pkt.extend_from_slice(&(0x8000_0000 | l).to_be_bytes());
        }
    }
    let pn_offset = pkt.len();
    pkt.extend_from_slice(&pn.to_be_bytes()[4 - pn_len..]);
    pkt.extend_from_slice(payload);
    keys.seal(&mut pkt, pn_offset, pn_len, u64::from(pn))?;
    Some(pkt)
}
