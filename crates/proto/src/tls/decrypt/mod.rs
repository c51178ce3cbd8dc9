//! TLS decryption with logged secrets (no private keys): TLS 1.3 and TLS 1.0-1.2, both
//! directions, handing out each direction's application-data plaintext as a stream.
//!
//! A [`Decryptor`] per flow walks every record of both directions from the first byte:
//! - Plaintext handshake records give the ClientHello (client random, session id, ticket, early
//!   data offer) and ServerHello (server random, suite, version, session id, encrypt-then-MAC,
//!   ALPN), and TLS 1.2's NewSessionTicket. With both hellos the secrets are looked up
//!   ([`KeyLog`]): TLS 1.3 traffic secrets by client random; a TLS 1.2 master secret by client
//!   random, else by session id (key log `RSA Session-ID` lines, or an earlier decrypted session
//!   resumed by id), else by the ticket the ClientHello presents (an earlier decrypted session
//!   whose NewSessionTicket was seen).
//! - TLS 1.3: the server's records after its ServerHello use its handshake secret until its
//!   Finished, then `SERVER_TRAFFIC_SECRET_0`; the client's use the early secret (0-RTT, when it
//!   offered early data and the secret is logged) until EndOfEarlyData (or until a record only
//!   the handshake key opens: early data rejected), the handshake secret until its Finished, then
//!   `CLIENT_TRAFFIC_SECRET_0`. KeyUpdate moves the sender to the next secret. EncryptedExtensions
//!   gives the ALPN.
//! - TLS 1.2: each direction's records after its ChangeCipherSpec, with sequence numbers from 0.
//!
//! Every record is authenticated before anything in it is used. A record that fails (wrong key,
//! keys of another capture, a gap making the stream unreadable) stops that direction and makes
//! the flow's [`Decryption`] `Failed`; nothing is guessed around. A gap stops the direction too
//! (the plaintext stream gets a gap). Application data goes out as [`Chunk`]s of a per-direction
//! plaintext stream (offsets from 0), with an alert or the end of the TLS stream as its end.
//!
//! Bounds: a record being assembled is at most 5 + [`super::MAX_RECORD_LEN`] bytes; handshake
//! messages as [`super::MAX_HANDSHAKE_LEN`]. Encrypted records that arrive before their keys can
//! be known (0-RTT before the ServerHello; secrets that a later Decryption Secrets Block may
//! bring, see [`KeyLog::streaming`]) are held up to [`MAX_HELD_PER_DIRECTION`]. Buffers count
//! against one run-wide budget, [`MAX_DECRYPT_MEMORY`]; a direction that cannot get its buffer
//! stops and is counted (`tls_decrypt_capped`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flow::{Chunk, Direction};

use super::MAX_RECORD_LEN;
use super::keylog::{KeyLog, MASTER_LEN, Secret};
use cipher::{Hash, RecordKeys, Suite};
use hs::{ClientInfo, HsReader, ServerInfo};

pub(crate) mod cipher;
pub(crate) mod hs;
#[cfg(test)]
mod tests;

/// Encrypted records (bytes) held per direction while their keys cannot be known yet.
pub const MAX_HELD_PER_DIRECTION: usize = 64 * 1024;
/// Bytes all decryptors of a run may hold at once (record buffers and held records).
pub const MAX_DECRYPT_MEMORY: usize = 256 << 20;
/// A record buffer's share of [`MAX_DECRYPT_MEMORY`].
const RECORD_BUF: usize = 5 + MAX_RECORD_LEN + 256;

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
const TLS13: u16 = 0x0304;

/// What became of a TLS connection's encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decryption {
    /// Records were decrypted and authenticated (and none failed).
    Decrypted,
    /// No secrets for this connection were given.
    NoKeys,
    /// A record failed authentication (wrong key, another capture's keys) or the stream broke.
    Failed,
    /// The cipher suite is one we do not decrypt (40-bit export RC4, 3DES, CCM...).
    Unsupported,
}

impl Decryption {
    /// Machine name: `decrypted`, `no-keys`, `failed`, `unsupported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decrypted => "decrypted",
            Self::NoKeys => "no-keys",
            Self::Failed => "failed",
            Self::Unsupported => "unsupported",
        }
    }
}

/// Run-wide memory budget of the decryptors ([`MAX_DECRYPT_MEMORY`]).
#[derive(Debug, Clone)]
pub struct Budget(Arc<AtomicUsize>);

impl Default for Budget {
    fn default() -> Self {
        Self(Arc::new(AtomicUsize::new(MAX_DECRYPT_MEMORY)))
    }
}

impl Budget {
    fn take(&self, n: usize) -> bool {
        self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(n)).is_ok()
    }
    fn give(&self, n: usize) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

/// TLS 1.3 key stage of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Early,
    Handshake,
    App,
}

/// Keys could be looked up for this connection?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// The hellos are not both seen yet, or secrets may still arrive.
    Pending,
    Found,
    Missing,
    Unsupported,
}

#[derive(Debug)]
struct Held {
    hdr: [u8; 5],
    body: Vec<u8>,
}

/// One direction.
#[derive(Debug)]
struct Side {
    hdr: [u8; 5],
    have: usize,
    /// Body of the record being assembled (its length is in `hdr`).
    body: Vec<u8>,
    /// This side holds a [`RECORD_BUF`] share of the budget.
    budgeted: bool,
    hs: HsReader,
    /// TLS 1.2: ChangeCipherSpec seen, records are encrypted.
    ccs: bool,
    keys: Option<RecordKeys>,
    seq: u64,
    stage: Stage,
    /// TLS 1.3: the current traffic secret (for KeyUpdate).
    secret: Option<Vec<u8>>,
    held: VecDeque<Held>,
    held_bytes: usize,
    plain_off: u64,
    /// Application data came out of this side.
    emitted: bool,
    done: bool,
}

impl Side {
    fn new() -> Self {
        Self {
            hdr: [0; 5],
            have: 0,
            body: Vec::new(),
            budgeted: false,
            hs: HsReader::default(),
            ccs: false,
            keys: None,
            seq: 0,
            stage: Stage::Handshake,
            secret: None,
            held: VecDeque::new(),
            held_bytes: 0,
            plain_off: 0,
            emitted: false,
            done: false,
        }
    }
}

/// What the hellos and the key log gave.
#[derive(Debug, Default)]
struct Conn {
    client: Option<ClientInfo>,
    server: Option<ServerInfo>,
    suite: Option<Suite>,
    master: Option<[u8; MASTER_LEN]>,
    client_handshake: Option<Secret>,
    client_app: Option<Secret>,
    server_app: Option<Secret>,
    /// A TLS 1.2 ticket the server issued before the master secret was known.
    ticket: Option<Vec<u8>>,
    alpn: Option<String>,
    /// The server certificate's names (TLS 1.3: read from the decrypted Certificate), until
    /// taken.
    cert: Option<crate::CertNames>,
}

/// Decrypts one TLS connection (see the module documentation).
#[derive(Debug)]
pub struct Decryptor {
    sides: [Side; 2],
    conn: Conn,
    lookup: Lookup,
    decrypted: bool,
    failed: bool,
    capped: u64,
    budget: Budget,
}

impl Drop for Decryptor {
    fn drop(&mut self) {
        for s in &mut self.sides {
            release(&self.budget, s);
        }
    }
}

fn release(budget: &Budget, s: &mut Side) {
    if s.budgeted {
        budget.give(RECORD_BUF);
        s.budgeted = false;
    }
    budget.give(s.held_bytes);
    s.held_bytes = 0;
    s.held.clear();
    s.body = Vec::new();
}

/// Where plaintext goes: `(direction, ALPN, chunk)`.
pub(crate) trait PlainSink: FnMut(Direction, Option<&str>, Chunk<'_>) {}
impl<F: FnMut(Direction, Option<&str>, Chunk<'_>)> PlainSink for F {}

impl Decryptor {
    /// A decryptor for a new flow, drawing on the run's `budget`.
    pub fn new(budget: Budget) -> Self {
        Self {
            sides: [Side::new(), Side::new()],
            conn: Conn::default(),
            lookup: Lookup::Pending,
            decrypted: false,
            failed: false,
            capped: 0,
            budget,
        }
    }

    /// The outcome so far; `None` before a ServerHello (nothing to say yet).
    pub fn outcome(&self) -> Option<Decryption> {
        self.conn.server.as_ref()?;
        Some(match self.lookup {
            Lookup::Unsupported => Decryption::Unsupported,
            _ if self.failed => Decryption::Failed,
            _ if self.decrypted => Decryption::Decrypted,
            Lookup::Found => Decryption::Decrypted,
            Lookup::Pending | Lookup::Missing => Decryption::NoKeys,
        })
    }

    /// The negotiated ALPN protocol, once known.
    pub fn alpn(&self) -> Option<&str> {
        self.conn.alpn.as_deref()
    }

    /// Directions stopped for want of memory ([`MAX_DECRYPT_MEMORY`]) since the last call.
    pub fn take_capped(&mut self) -> u64 {
        std::mem::take(&mut self.capped)
    }

    /// The server certificate's names, once read from a decrypted TLS 1.3 handshake (given once).
    pub fn take_cert(&mut self) -> Option<crate::CertNames> {
        self.conn.cert.take()
    }

    /// One chunk of direction `dir`'s TLS stream; plaintext goes to `plain`.
    pub(crate) fn feed(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        keys: &mut KeyLog,
        plain: &mut impl PlainSink,
    ) {
        let d = dir.index();
        if self.sides[d].done {
            return;
        }
        match chunk {
            Chunk::Data { bytes, .. } => self.data(dir, bytes, keys, plain),
            Chunk::Gap { len, .. } => {
                let s = &mut self.sides[d];
                if s.emitted {
                    plain(dir, self.conn.alpn.as_deref(), Chunk::Gap { offset: s.plain_off, len });
                }
                if s.keys.is_some() {
                    self.failed = true;
                }
                self.stop(d);
            }
            Chunk::End => {
                if self.sides.iter().any(|s| !s.held.is_empty()) {
                    // Last chance for secrets that came after the records (a key log followed
                    // live, polled when a connection ends): a partial set is taken as it is.
                    if self.lookup == Lookup::Pending {
                        self.resolve(keys, true);
                    }
                    self.release_held(keys, plain);
                }
                self.end(dir, plain);
            }
            Chunk::Datagram(_) => {}
        }
    }

    fn end(&mut self, dir: Direction, plain: &mut impl PlainSink) {
        let d = dir.index();
        if self.sides[d].emitted {
            plain(dir, self.conn.alpn.as_deref(), Chunk::End);
        }
        self.stop(d);
    }

    fn stop(&mut self, d: usize) {
        let s = &mut self.sides[d];
        s.done = true;
        release(&self.budget, s);
    }

    fn data(
        &mut self,
        dir: Direction,
        mut input: &[u8],
        keys: &mut KeyLog,
        plain: &mut impl PlainSink,
    ) {
        let d = dir.index();
        while !input.is_empty() && !self.sides[d].done {
            let s = &mut self.sides[d];
            if s.have < 5 {
                let n = (5 - s.have).min(input.len());
                s.hdr[s.have..s.have + n].copy_from_slice(&input[..n]);
                s.have += n;
                input = &input[n..];
                if s.have < 5 {
                    return;
                }
                let len = usize::from(u16::from_be_bytes([s.hdr[3], s.hdr[4]]));
                if !(CT_CHANGE_CIPHER_SPEC..=24).contains(&s.hdr[0])
                    || s.hdr[1] != 3
                    || len > MAX_RECORD_LEN
                {
                    // Not TLS records (or an SSLv2 hello): nothing to decrypt.
                    if s.keys.is_some() {
                        self.failed = true;
                    }
                    self.stop(d);
                    return;
                }
                if !s.budgeted {
                    if !self.budget.take(RECORD_BUF) {
                        self.capped += 1;
                        self.stop(d);
                        return;
                    }
                    s.budgeted = true;
                    s.body.reserve_exact(RECORD_BUF);
                }
                s.body.clear();
            }
            let s = &mut self.sides[d];
            let len = usize::from(u16::from_be_bytes([s.hdr[3], s.hdr[4]]));
            let n = (len - s.body.len()).min(input.len());
            s.body.extend_from_slice(&input[..n]);
            input = &input[n..];
            if s.body.len() < len {
                return;
            }
            s.have = 0;
            let hdr = s.hdr;
            let mut body = std::mem::take(&mut s.body);
            self.record(dir, hdr, &mut body, keys, plain);
            let s = &mut self.sides[d];
            if !s.done {
                body.clear();
                s.body = body;
            }
        }
    }

    /// True when the connection is (or, once ServerHello is seen, will be) TLS 1.3.
    fn is_tls13(&self) -> Option<bool> {
        self.conn.server.as_ref().map(|s| s.version == TLS13)
    }

    /// One complete record.
    fn record(
        &mut self,
        dir: Direction,
        hdr: [u8; 5],
        body: &mut [u8],
        keys: &mut KeyLog,
        plain: &mut impl PlainSink,
    ) {
        let d = dir.index();
        let typ = hdr[0];
        let tls13 = self.is_tls13();
        let encrypted = match (tls13, typ) {
            (_, CT_CHANGE_CIPHER_SPEC) => {
                if tls13 == Some(false) {
                    let s = &mut self.sides[d];
                    s.ccs = true;
                    s.seq = 0;
                }
                return;
            }
            (Some(true), t) => t == CT_APPLICATION_DATA,
            (Some(false), _) => self.sides[d].ccs,
            // Before the ServerHello: a client's 0-RTT records wait for it.
            (None, t) => t == CT_APPLICATION_DATA,
        };
        if !encrypted {
            match typ {
                CT_HANDSHAKE => self.plain_handshake(dir, body, keys),
                CT_ALERT => self.end(dir, plain),
                _ => self.stop(d),
            }
            return;
        }
        if self.lookup == Lookup::Pending {
            self.resolve(keys, false);
        }
        match self.lookup {
            Lookup::Found if self.sides[d].held.is_empty() => self.open(dir, hdr, body, plain),
            Lookup::Found => {
                // Earlier records wait (0-RTT before the ServerHello): this one goes after them.
                if !self.budget.take(body.len()) {
                    self.capped += 1;
                    self.stop(d);
                    return;
                }
                self.sides[d].held.push_back(Held { hdr, body: body.to_vec() });
                self.sides[d].held_bytes += body.len();
                self.release_held(keys, plain);
            }
            Lookup::Pending => self.hold(d, hdr, body, keys),
            Lookup::Missing | Lookup::Unsupported => {
                self.stop(0);
                self.stop(1);
            }
        }
    }

    /// Keeps an encrypted record until its keys are known (bounded).
    fn hold(&mut self, d: usize, hdr: [u8; 5], body: &[u8], keys: &KeyLog) {
        let can_wait = self.conn.server.is_none() || keys.streaming();
        let s = &mut self.sides[d];
        if !can_wait || s.held_bytes + body.len() > MAX_HELD_PER_DIRECTION {
            if self.conn.server.is_some() {
                self.lookup = Lookup::Missing;
            }
            self.stop(d);
            return;
        }
        if !self.budget.take(body.len()) {
            self.capped += 1;
            self.stop(d);
            return;
        }
        s.held_bytes += body.len();
        s.held.push_back(Held { hdr, body: body.to_vec() });
    }

    /// Decrypts what was held, once the keys are known.
    fn release_held(&mut self, keys: &mut KeyLog, plain: &mut impl PlainSink) {
        if self.lookup == Lookup::Pending {
            self.resolve(keys, false);
        }
        if self.lookup != Lookup::Found {
            return;
        }
        for d in [Direction::ToServer, Direction::ToClient] {
            while let Some(mut h) = self.sides[d.index()].held.pop_front() {
                let s = &mut self.sides[d.index()];
                s.held_bytes -= h.body.len();
                self.budget.give(h.body.len());
                if s.done {
                    continue;
                }
                self.open(d, h.hdr, &mut h.body, plain);
            }
        }
    }

    /// A plaintext handshake record.
    fn plain_handshake(&mut self, dir: Direction, body: &[u8], keys: &mut KeyLog) {
        let d = dir.index();
        let mut msgs = Vec::new();
        let ok = self.sides[d].hs.feed(body, |t, b| {
            if matches!(t, hs::CLIENT_HELLO | hs::SERVER_HELLO | hs::NEW_SESSION_TICKET) {
                msgs.push((t, b.to_vec()));
            }
        });
        if !ok {
            self.stop(d);
            return;
        }
        for (t, b) in msgs {
            match (dir, t) {
                (Direction::ToServer, hs::CLIENT_HELLO) => {
                    if let Some(c) = hs::client_info(&b) {
                        self.sides[0].stage =
                            if c.early_data { Stage::Early } else { Stage::Handshake };
                        self.conn.client = Some(c);
                    }
                }
                (Direction::ToClient, hs::SERVER_HELLO) => {
                    let Some(s) = hs::server_info(&b) else { continue };
                    if s.hrr {
                        // A second ClientHello follows; 0-RTT is off.
                        self.sides[0].stage = Stage::Handshake;
                        continue;
                    }
                    if s.version == TLS13 {
                        self.conn.alpn = None;
                    } else {
                        self.conn.alpn.clone_from(&s.alpn);
                    }
                    self.conn.server = Some(s);
                    self.lookup = Lookup::Pending;
                    self.resolve(keys, false);
                }
                (Direction::ToClient, hs::NEW_SESSION_TICKET) => {
                    if let Some(t) = hs::new_session_ticket(&b) {
                        match &self.conn.master {
                            Some(m) => keys.learn(t, m),
                            None => self.conn.ticket = Some(t.to_vec()),
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Looks up the secrets once both hellos are known, and sets up each side's keys.
    /// Looks the connection's secrets up. While more may arrive ([`KeyLog::streaming`]) a TLS 1.3
    /// connection waits for its whole set (handshake and traffic secrets, which a key log being
    /// written may hold only part of), unless `last_chance`.
    fn resolve(&mut self, keys: &mut KeyLog, last_chance: bool) {
        let (Some(_), Some(s)) = (&self.conn.client, &self.conn.server) else { return };
        let Some(suite) = cipher::suite(s.suite) else {
            self.lookup = Lookup::Unsupported;
            return;
        };
        self.conn.suite = Some(suite);
        let found = if s.version == TLS13 {
            self.resolve13(suite, keys, keys.streaming() && !last_chance)
        } else {
            self.resolve12(suite, keys)
        };
        self.lookup = match found {
            true => Lookup::Found,
            false if keys.streaming() => Lookup::Pending,
            false => Lookup::Missing,
        };
    }

    fn resolve13(&mut self, suite: Suite, keys: &KeyLog, whole: bool) -> bool {
        let Some(c) = &self.conn.client else { return false };
        let Some(sec) = keys.get(&c.random) else { return false };
        let (Some(shs), Some(chs)) = (&sec.server_handshake, &sec.client_handshake) else {
            return false;
        };
        if whole && (sec.client_app.is_none() || sec.server_app.is_none()) {
            return false;
        }
        let Some(server_keys) = RecordKeys::tls13(suite, shs) else { return false };
        let server = &mut self.sides[1];
        server.keys = Some(server_keys);
        server.secret = Some(shs.to_vec());
        server.stage = Stage::Handshake;
        server.seq = 0;
        let client = &mut self.sides[0];
        let early = match (&sec.client_early, client.stage) {
            (Some(e), Stage::Early) => Some(e),
            _ => None,
        };
        let (secret, stage) = match early {
            Some(e) => (e, Stage::Early),
            None => (chs, Stage::Handshake),
        };
        client.keys = RecordKeys::tls13(suite, secret);
        client.secret = Some(secret.to_vec());
        client.stage = stage;
        client.seq = 0;
        self.conn.client_handshake = Some(chs.clone());
        self.conn.client_app.clone_from(&sec.client_app);
        self.conn.server_app.clone_from(&sec.server_app);
        client.keys.is_some()
    }

    fn resolve12(&mut self, suite: Suite, keys: &mut KeyLog) -> bool {
        let (Some(c), Some(s)) = (&self.conn.client, &self.conn.server) else { return false };
        let master = keys
            .get(&c.random)
            .and_then(|k| k.master)
            .or_else(|| keys.resumed(&s.session_id).copied())
            .or_else(|| keys.resumed(&c.ticket).copied());
        let Some(master) = master else { return false };
        let Some([ck, sk]) =
            RecordKeys::tls12(suite, s.version, &master, &c.random, &s.random, s.etm)
        else {
            return false;
        };
        keys.learn(&s.session_id, &master);
        if let Some(t) = self.conn.ticket.take() {
            keys.learn(&t, &master);
        }
        self.conn.master = Some(master);
        self.sides[0].keys = Some(ck);
        self.sides[1].keys = Some(sk);
        true
    }

    /// Decrypts and authenticates one record and passes its content on.
    fn open(&mut self, dir: Direction, hdr: [u8; 5], body: &mut [u8], plain: &mut impl PlainSink) {
        let d = dir.index();
        let tls13 = self.is_tls13() == Some(true);
        let opened = if tls13 { self.open13(d, &hdr, body) } else { self.open12(d, &hdr, body) };
        let Some((typ, range)) = opened else {
            self.failed = true;
            self.stop(d);
            return;
        };
        self.decrypted = true;
        let content = &body[range];
        match typ {
            CT_APPLICATION_DATA => {
                let s = &mut self.sides[d];
                if !content.is_empty() {
                    s.emitted = true;
                    let offset = s.plain_off;
                    s.plain_off += content.len() as u64;
                    plain(dir, self.conn.alpn.as_deref(), Chunk::Data { offset, bytes: content });
                }
            }
            CT_HANDSHAKE => self.encrypted_handshake(d, tls13, content.to_vec()),
            CT_ALERT => self.end(dir, plain),
            _ => {}
        }
    }

    fn open13(
        &mut self,
        d: usize,
        hdr: &[u8; 5],
        body: &mut [u8],
    ) -> Option<(u8, std::ops::Range<usize>)> {
        let s = &mut self.sides[d];
        let keys = s.keys.as_ref()?;
        let saved = (s.stage == Stage::Early).then(|| body.to_vec());
        if let Some((typ, n)) = keys.open13(s.seq, hdr, body) {
            s.seq += 1;
            return Some((typ, 0..n));
        }
        // 0-RTT rejected or over: the record may be the first under the handshake key.
        let mut saved = saved?;
        self.set_client_stage(Stage::Handshake)?;
        let s = &mut self.sides[d];
        let (typ, n) = s.keys.as_ref()?.open13(s.seq, hdr, &mut saved)?;
        s.seq += 1;
        body.copy_from_slice(&saved);
        Some((typ, 0..n))
    }

    fn open12(
        &mut self,
        d: usize,
        hdr: &[u8; 5],
        body: &mut [u8],
    ) -> Option<(u8, std::ops::Range<usize>)> {
        let s = &mut self.sides[d];
        let range = s.keys.as_mut()?.open12(s.seq, hdr, body)?;
        s.seq += 1;
        Some((hdr[0], range))
    }

    /// Moves the client to the handshake secret (after early data).
    fn set_client_stage(&mut self, stage: Stage) -> Option<()> {
        let (suite, secret) = match stage {
            Stage::Handshake => (self.conn.suite?, self.conn.client_handshake.as_deref()?.to_vec()),
            _ => return None,
        };
        let s = &mut self.sides[0];
        s.keys = Some(RecordKeys::tls13(suite, &secret)?);
        s.secret = Some(secret);
        s.stage = stage;
        s.seq = 0;
        Some(())
    }

    /// Handshake messages inside encrypted records; key changes take effect at the next record.
    fn encrypted_handshake(&mut self, d: usize, tls13: bool, content: Vec<u8>) {
        let mut msgs = Vec::new();
        let ok = self.sides[d].hs.feed(&content, |t, b| msgs.push((t, b.to_vec())));
        if !ok {
            self.stop(d);
            return;
        }
        if !tls13 {
            return; // TLS 1.2 Finished, or a renegotiation we do not follow
        }
        for (t, b) in msgs {
            let stage = self.sides[d].stage;
            match (t, stage) {
                (hs::ENCRYPTED_EXTENSIONS, _) if d == 1 => {
                    self.conn.alpn = hs::encrypted_extensions_alpn(&b);
                }
                (hs::CERTIFICATE, Stage::Handshake) if d == 1 => {
                    self.conn.cert = super::x509::certificate13_message(&b);
                }
                (hs::END_OF_EARLY_DATA, Stage::Early)
                    if d == 0 && self.set_client_stage(Stage::Handshake).is_none() =>
                {
                    self.stop(d);
                }
                (hs::FINISHED, Stage::Handshake) => {
                    let app = if d == 0 { &self.conn.client_app } else { &self.conn.server_app };
                    let Some(secret) = app.clone() else {
                        // The handshake was logged but not the traffic secret.
                        self.stop(d);
                        return;
                    };
                    self.switch(d, secret.to_vec(), Stage::App);
                }
                (hs::KEY_UPDATE, Stage::App) => {
                    let hash = self.hash();
                    let next = self.sides[d]
                        .secret
                        .as_deref()
                        .and_then(|cur| cipher::next_secret(hash, cur));
                    match next {
                        Some(n) => self.switch(d, n, Stage::App),
                        None => self.stop(d),
                    }
                }
                _ => {}
            }
        }
    }

    fn hash(&self) -> Hash {
        self.conn.suite.map_or(Hash::Sha256, |s| s.prf)
    }

    fn switch(&mut self, d: usize, secret: Vec<u8>, stage: Stage) {
        let Some(suite) = self.conn.suite else { return };
        let s = &mut self.sides[d];
        s.keys = RecordKeys::tls13(suite, &secret);
        s.secret = Some(secret);
        s.stage = stage;
        s.seq = 0;
        if s.keys.is_none() {
            self.stop(d);
        }
    }
}
