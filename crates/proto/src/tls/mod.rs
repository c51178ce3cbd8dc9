//! TLS over TCP: ClientHello and ServerHello from the handshake records.
//!
//! Per direction, TLS records are read from the stream (fed in pieces of any size) and handshake
//! messages are reassembled across records and segments, up to [`MAX_HANDSHAKE_LEN`]. Only the
//! hello of each direction is buffered:
//! - Client: the ClientHello gives [`Event::TlsClientHello`]. After a HelloRetryRequest from the
//!   server, the second ClientHello is reported too.
//! - Server: the ServerHello gives [`Event::TlsServerHello`] (a HelloRetryRequest is a ServerHello
//!   and is reported; so is the real ServerHello after it). When it chose TLS 1.0-1.2, the next
//!   handshake message, if it is the Certificate (in the clear before TLS 1.3), gives
//!   [`Event::TlsCertificate`] with the server certificate's names (`x509.rs`); a chain over
//!   [`MAX_HANDSHAKE_LEN`] is not read. TLS 1.3 and QUIC certificates are read from the
//!   decrypted handshake (`decrypt`, `quic::decrypt`) when keys open it; compressed certificates
//!   (RFC 8879) are not.
//!
//! After its hello, a direction walks at most [`MAX_RECORDS_AFTER_HELLO`] record headers without
//! buffering bodies (the HelloRetryRequest case), and stops at application data, an alert, or as
//! soon as the server's final ServerHello is seen; a ChangeCipherSpec or application data before
//! the hello also stops it. From then on chunks are ignored in O(1), so ciphertext is never
//! buffered.
//!
//! Anomalies: a malformed record or hello counts `tls_malformed`, an oversized handshake message
//! `tls_capped`, a gap while parsing `gaps`; each stops that direction. SSLv2-compatible
//! ClientHellos (first byte with the high bit set) are reported with their version and no SNI.
//!
//! NULL ciphers: [`TlsParser::plaintext`] hands out the plaintext of a connection whose
//! ServerHello chose a NULL-cipher suite (see `null.rs`), for the session to parse what it carries.
//!
//! The hello bodies are parsed by a small hand-written parser (see `hello.rs` for why not
//! tls-parser); [`parse_client_hello`] is shared with QUIC.

use flow::{Chunk, Direction};

use crate::{Anomalies, ClientHello, Event};

pub mod decrypt;
mod hello;
pub mod keylog;
mod null;
pub(crate) mod reader;
mod stream;
#[cfg(test)]
pub(crate) mod tests;
pub mod x509;

use decrypt::{Decryption, Decryptor};
pub use hello::MAX_ALPN;
use keylog::KeyLog;
use null::{Cipher, Walker};
use stream::{DirParser, Shared, Step};

/// Largest handshake message buffered (a ClientHello with post-quantum key shares is ~2 KiB; a
/// TLS 1.2 certificate chain 3-8 KiB).
pub const MAX_HANDSHAKE_LEN: usize = 64 * 1024;

/// Largest TLS record body accepted: 2^14 bytes of plaintext plus the 2048 bytes of expansion
/// TLS 1.2 allows for a TLSCiphertext (RFC 5246 §6.2.3). Longer records are malformed.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Records a direction walks (bodies not buffered) after its hello, waiting for a possible second
/// hello after a HelloRetryRequest. The expected sequence is ChangeCipherSpec, then the second
/// ClientHello; 8 leaves room for oddities.
pub const MAX_RECORDS_AFTER_HELLO: u8 = 8;

/// TLS parser for one flow.
#[derive(Debug)]
pub struct TlsParser {
    /// Indexed by [`Direction::index`].
    dirs: [DirParser; 2],
    shared: Shared,
    /// NULL-cipher record walkers, indexed by [`Direction::index`].
    walkers: [Walker; 2],
    /// Decryption with logged secrets: created with the first chunk when secrets are known.
    dec: Option<Box<Decryptor>>,
    /// The first chunk was seen (a decryptor can only start at the beginning of the stream).
    started: bool,
}

impl Default for TlsParser {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self {
            dirs: [DirParser::new(true), DirParser::new(false)],
            shared: Shared::default(),
            walkers: Default::default(),
            dec: None,
            started: false,
        }
    }

    /// Decrypts with the secrets of `keys` (see [`decrypt`]): call with each chunk after
    /// [`Self::data`]; application-data plaintext of either direction goes to `plain` as
    /// `(direction, negotiated ALPN, chunk)`. A flow whose first chunk came while `keys` was empty
    /// is never decrypted, at no cost. Returns the directions stopped by the memory budget.
    pub fn decrypt(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        keys: &mut KeyLog,
        mut plain: impl FnMut(Direction, Option<&str>, Chunk<'_>),
    ) -> u64 {
        if !self.started {
            self.started = true;
            if !keys.is_empty() && self.shared.chosen.is_none() {
                self.dec = Some(Box::new(Decryptor::new(keys.budget().clone())));
            }
        }
        match &mut self.dec {
            Some(dec) => {
                dec.feed(dir, chunk, keys, &mut plain);
                dec.take_capped()
            }
            None => 0,
        }
    }

    /// The server certificate's names read from a decrypted TLS 1.3 handshake (given once).
    pub fn take_cert(&mut self) -> Option<crate::CertNames> {
        self.dec.as_mut()?.take_cert()
    }

    /// What decryption gave, for a flow whose ServerHello was seen while secrets were known.
    pub fn decryption(&self) -> Option<Decryption> {
        self.dec.as_ref()?.outcome()
    }

    /// True once the final ServerHello chose a NULL-cipher suite (SSL 3.0 to TLS 1.2): the
    /// application data travels in plaintext.
    pub fn null_cipher(&self) -> bool {
        matches!(Cipher::from_chosen(self.shared.chosen), Cipher::Null(_))
    }

    /// The plaintext of a NULL-cipher connection: call with each chunk after [`Self::data`];
    /// pieces of direction `dir`'s plaintext stream (application data without the record framing
    /// and MACs, offsets from 0), its end or a loss in it, go to `plain`. Costs nothing once the
    /// handshake chose any other cipher.
    pub fn plaintext(&mut self, dir: Direction, chunk: Chunk<'_>, plain: impl FnMut(Chunk<'_>)) {
        let w = &mut self.walkers[dir.index()];
        if !w.is_done() {
            w.feed(Cipher::from_chosen(self.shared.chosen), chunk, plain);
        }
    }

    /// Stream data of one direction.
    pub fn data(
        &mut self,
        dir: Direction,
        chunk: Chunk<'_>,
        out: &mut Vec<Event>,
        an: &mut Anomalies,
    ) {
        let d = &mut self.dirs[dir.index()];
        if d.is_done() {
            return;
        }
        match chunk {
            Chunk::Data { bytes, .. } => {
                let step = d.feed(bytes, &mut self.shared, out);
                match step {
                    Step::More => {}
                    Step::Stop => d.finish(),
                    Step::Malformed => {
                        an.tls_malformed += 1;
                        d.finish();
                    }
                    Step::Capped => {
                        an.tls_capped += 1;
                        d.finish();
                    }
                }
            }
            Chunk::Gap { .. } => {
                // Resynchronising inside a record is impossible: give up on this direction.
                an.gaps += 1;
                d.finish();
            }
            Chunk::End => d.finish(),
            Chunk::Datagram(_) => {}
        }
        // Once the server's final ServerHello is seen, a client waiting after its ClientHello
        // has nothing more to send in plaintext.
        let client = &mut self.dirs[Direction::ToServer.index()];
        if self.shared.server_final && client.waiting_after_hello() {
            client.finish();
        }
    }
}

/// Parses a complete ClientHello handshake message body (after the 4-byte handshake header).
/// Shared by TLS and QUIC. `None` when it is malformed.
///
/// `sni` is the first host_name (lower-case, trailing dot removed, non-printable bytes as
/// `\DDD`), `alpn` the offered protocols in order (at most [`MAX_ALPN`]), `versions` the
/// supported_versions list without GREASE values, else the legacy client_version.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    hello::client_hello(body)
}
