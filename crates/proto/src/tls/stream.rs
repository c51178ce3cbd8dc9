//! One direction of a TLS stream: record layer and handshake-message reassembly, fed in pieces
//! of any size (down to one byte). Only the hello messages, and the server's Certificate message
//! of TLS 1.0-1.2, are buffered; everything after them is walked record by record or dropped, so
//! ciphertext is never buffered.

use super::hello;
use super::reader::Reader;
use super::{MAX_HANDSHAKE_LEN, MAX_RECORD_LEN, MAX_RECORDS_AFTER_HELLO};
use crate::{Event, ServerHello};

/// TLS record header: type, version (2), length (2).
const RECORD_HEADER_LEN: usize = 5;
/// SSLv2 record header with the high bit set: 2 bytes.
const SSLV2_HEADER_LEN: usize = 2;
/// Handshake message header: type, length (3).
const HS_HEADER_LEN: usize = 4;

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_HANDSHAKE: u8 = 22;
const CT_HEARTBEAT: u8 = 24;

const HS_HELLO_REQUEST: u8 = 0;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;

/// TLS 1.3: its Certificate is encrypted.
const TLS13: u16 = 0x0304;

/// State both directions of one flow share.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Shared {
    /// The server sent a HelloRetryRequest: a second ClientHello (and ServerHello) will follow.
    pub(crate) hrr: bool,
    /// The server sent its final ServerHello: no more plaintext hellos from either side.
    pub(crate) server_final: bool,
    /// The cipher suite and version of the final ServerHello, once seen.
    pub(crate) chosen: Option<(u16, u16)>,
}

/// Result of feeding bytes to a direction.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// All input consumed; more may follow.
    More,
    /// Parsing of this direction is over (hello processed, ciphertext, alert).
    Stop,
    /// A record or handshake message is malformed: count `tls_malformed`.
    Malformed,
    /// A handshake message exceeds [`MAX_HANDSHAKE_LEN`]: count `tls_capped`.
    Capped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for this direction's hello (the first, or the second after a HelloRetryRequest).
    Hello,
    /// A hello was processed. Records are walked without buffering their bodies, in case a
    /// HelloRetryRequest asks for a second hello; at most `records_left` more records.
    AfterHello { records_left: u8 },
    /// The server's final ServerHello chose TLS 1.0-1.2: its next handshake message, when it is
    /// the Certificate, is read for the certificate's names (then parsing stops).
    Certificate,
    /// Parsing is over: chunks are ignored.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Handshake bytes: reassembled in `hs`.
    Handshake,
    /// Not needed: dropped.
    Skip,
    /// The body of an SSLv2 CLIENT-HELLO or SERVER-HELLO: (the needed part) buffered in `hs`.
    SslV2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rec {
    /// Reading a record header; `have` bytes of it so far.
    Header { have: usize },
    /// Inside a record body; `left` bytes to go.
    Body { left: usize, kind: Body },
}

/// Record and handshake state of one direction.
#[derive(Debug)]
pub(crate) struct DirParser {
    client: bool,
    phase: Phase,
    rec: Rec,
    hdr: [u8; RECORD_HEADER_LEN],
    /// The SSLv2 record format (high bit set) was detected on the first byte of the stream.
    sslv2: bool,
    /// No record header has completed yet.
    first_record: bool,
    /// Handshake message being reassembled (at most `HS_HEADER_LEN + MAX_HANDSHAKE_LEN`).
    hs: Vec<u8>,
    /// Hello messages processed.
    hellos: u8,
}

impl DirParser {
    /// A parser for the client-to-server (`client`) or server-to-client direction.
    pub(crate) fn new(client: bool) -> Self {
        Self {
            client,
            phase: Phase::Hello,
            rec: Rec::Header { have: 0 },
            hdr: [0; RECORD_HEADER_LEN],
            sslv2: false,
            first_record: true,
            hs: Vec::new(),
            hellos: 0,
        }
    }

    /// True when this direction ignores its input.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True while a hello may still come (not merely waiting after one).
    pub(crate) fn waiting_after_hello(&self) -> bool {
        matches!(self.phase, Phase::AfterHello { .. })
    }

    /// Ends parsing of this direction and frees its buffer.
    pub(crate) fn finish(&mut self) {
        self.phase = Phase::Done;
        self.hs = Vec::new();
    }

    /// Feeds the next in-order stream bytes of this direction.
    pub(crate) fn feed(&mut self, mut input: &[u8], sh: &mut Shared, out: &mut Vec<Event>) -> Step {
        while !input.is_empty() {
            if self.phase == Phase::Done {
                return Step::Stop;
            }
            match self.rec {
                Rec::Header { have } => {
                    if have == 0 && self.first_record && input[0] & 0x80 != 0 {
                        self.sslv2 = true;
                    }
                    let hlen = if self.sslv2 { SSLV2_HEADER_LEN } else { RECORD_HEADER_LEN };
                    let n = (hlen - have).min(input.len());
                    self.hdr[have..have + n].copy_from_slice(&input[..n]);
                    input = &input[n..];
                    if have + n < hlen {
                        self.rec = Rec::Header { have: have + n };
                        return Step::More;
                    }
                    let step = self.on_header(sh);
                    if step != Step::More {
                        return step;
                    }
                }
                Rec::Body { left, kind } => {
                    let n = left.min(input.len());
                    let (part, rest) = input.split_at(n);
                    input = rest;
                    let left = left - n;
                    self.rec =
                        if left == 0 { Rec::Header { have: 0 } } else { Rec::Body { left, kind } };
                    let step = match kind {
                        Body::Skip => Step::More,
                        Body::Handshake => self.on_handshake_bytes(part, sh, out),
                        Body::SslV2 => self.on_sslv2_bytes(part, left, out),
                    };
                    if step != Step::More {
                        return step;
                    }
                }
            }
        }
        Step::More
    }

    /// A complete record header is in `hdr`: validate it and choose what to do with the body.
    fn on_header(&mut self, sh: &Shared) -> Step {
        self.first_record = false;
        if self.sslv2 {
            let len = usize::from(u16::from_be_bytes([self.hdr[0] & 0x7f, self.hdr[1]]));
            if len < hello::SSLV2_SERVER_HELLO_PREFIX {
                return Step::Malformed;
            }
            self.rec = Rec::Body { left: len, kind: Body::SslV2 };
            return Step::More;
        }
        let typ = self.hdr[0];
        let len = usize::from(u16::from_be_bytes([self.hdr[3], self.hdr[4]]));
        if !(CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&typ) || self.hdr[1] != 3 {
            return Step::Malformed;
        }
        let kind = match self.phase {
            Phase::Done => return Step::Stop,
            Phase::Certificate if typ == CT_HANDSHAKE => Body::Handshake,
            Phase::Certificate => return Step::Stop,
            Phase::Hello if typ == CT_HANDSHAKE => Body::Handshake,
            // Handshake messages must not be interleaved with other record types.
            Phase::Hello if !self.hs.is_empty() => return Step::Malformed,
            // Alert, ChangeCipherSpec, application data or heartbeat before the hello:
            // nothing in plaintext to look at any more.
            Phase::Hello => return Step::Stop,
            Phase::AfterHello { records_left: 0 } => return Step::Stop,
            Phase::AfterHello { records_left } => {
                self.phase = Phase::AfterHello { records_left: records_left - 1 };
                match typ {
                    // The middlebox-compatibility ChangeCipherSpec may sit between the hellos.
                    CT_CHANGE_CIPHER_SPEC => Body::Skip,
                    CT_HANDSHAKE if sh.hrr => {
                        self.phase = Phase::Hello;
                        Body::Handshake
                    }
                    _ => return Step::Stop,
                }
            }
        };
        if len > MAX_RECORD_LEN {
            return Step::Malformed;
        }
        self.rec = Rec::Body { left: len, kind };
        Step::More
    }

    /// Appends handshake bytes of the current record and processes a completed message. Only
    /// the bytes the message needs are buffered.
    fn on_handshake_bytes(
        &mut self,
        mut part: &[u8],
        sh: &mut Shared,
        out: &mut Vec<Event>,
    ) -> Step {
        while !part.is_empty() {
            let need = if self.hs.len() < HS_HEADER_LEN {
                HS_HEADER_LEN - self.hs.len()
            } else {
                (HS_HEADER_LEN.saturating_add(self.msg_len())).saturating_sub(self.hs.len())
            };
            let n = need.min(part.len());
            self.hs.extend_from_slice(&part[..n]);
            part = &part[n..];
            if self.hs.len() < HS_HEADER_LEN {
                return Step::More;
            }
            if self.msg_len() > MAX_HANDSHAKE_LEN {
                // A certificate chain beyond the cap is simply not read.
                return if self.phase == Phase::Certificate { Step::Stop } else { Step::Capped };
            }
            if self.hs.len() < HS_HEADER_LEN + self.msg_len() {
                continue;
            }
            let msg = std::mem::take(&mut self.hs);
            let step = self.on_message(msg[0], &msg[HS_HEADER_LEN..], sh, out);
            if step != Step::More || !matches!(self.phase, Phase::Hello | Phase::Certificate) {
                // After a hello the rest of this record is not needed.
                if let Rec::Body { left, .. } = self.rec {
                    self.rec = Rec::Body { left, kind: Body::Skip };
                }
                return step;
            }
        }
        Step::More
    }

    /// Body length of the message whose header is in `hs` (needs `HS_HEADER_LEN` bytes).
    fn msg_len(&self) -> usize {
        let len = Reader::new(self.hs.get(1..HS_HEADER_LEN).unwrap_or_default()).u24();
        len.map_or(usize::MAX, |l| l as usize)
    }

    /// One complete handshake message while waiting for a hello.
    fn on_message(&mut self, typ: u8, body: &[u8], sh: &mut Shared, out: &mut Vec<Event>) -> Step {
        if self.phase == Phase::Certificate {
            // Whatever comes after the ServerHello, parsing ends here; a Certificate that cannot
            // be read is no anomaly of the flow (the names are a bonus).
            if typ == HS_CERTIFICATE
                && let Some(names) = super::x509::certificate_message(body)
            {
                out.push(Event::TlsCertificate(names));
            }
            return Step::Stop;
        }
        match (self.client, typ) {
            (true, HS_CLIENT_HELLO) => {
                let Some(ch) = hello::client_hello(body) else { return Step::Malformed };
                out.push(Event::TlsClientHello(ch));
                self.hellos += 1;
                if self.hellos >= 2 || sh.server_final {
                    return Step::Stop;
                }
                self.phase = Phase::AfterHello { records_left: MAX_RECORDS_AFTER_HELLO };
                Step::More
            }
            (false, HS_SERVER_HELLO) => {
                let Some(sh_info) = hello::server_hello(body) else { return Step::Malformed };
                out.push(Event::TlsServerHello(ServerHello { version: sh_info.version }));
                self.hellos += 1;
                if sh_info.hrr && self.hellos == 1 {
                    sh.hrr = true;
                    self.phase = Phase::AfterHello { records_left: MAX_RECORDS_AFTER_HELLO };
                    return Step::More;
                }
                sh.server_final = true;
                sh.chosen = Some((sh_info.suite, sh_info.version));
                if sh_info.version < TLS13 {
                    self.phase = Phase::Certificate;
                    return Step::More;
                }
                Step::Stop
            }
            // An empty HelloRequest before the ServerHello is harmless (renegotiation prompt).
            (false, HS_HELLO_REQUEST) if body.is_empty() => Step::More,
            _ => Step::Malformed,
        }
    }

    /// Bytes of an SSLv2 record body (`left` more to come). The client's CLIENT-HELLO is
    /// buffered whole (at most 32767 bytes); of the server's SERVER-HELLO, which carries the
    /// certificate, only the prefix holding the version.
    fn on_sslv2_bytes(&mut self, part: &[u8], left: usize, out: &mut Vec<Event>) -> Step {
        if self.client {
            self.hs.extend_from_slice(part);
            if left > 0 {
                return Step::More;
            }
            let Some(ch) = hello::sslv2_client_hello(&self.hs) else { return Step::Malformed };
            out.push(Event::TlsClientHello(ch));
            return Step::Stop;
        }
        let want = hello::SSLV2_SERVER_HELLO_PREFIX.saturating_sub(self.hs.len());
        self.hs.extend_from_slice(&part[..want.min(part.len())]);
        if self.hs.len() < hello::SSLV2_SERVER_HELLO_PREFIX {
            return if left > 0 { Step::More } else { Step::Malformed };
        }
        let Some(version) = hello::sslv2_server_version(&self.hs) else { return Step::Malformed };
        out.push(Event::TlsServerHello(ServerHello { version }));
        Step::Stop
    }
}
