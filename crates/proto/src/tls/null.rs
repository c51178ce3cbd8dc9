//! TLS with a NULL cipher (`TLS_RSA_WITH_NULL_SHA256` and the other `*_WITH_NULL_*` suites of
//! SSL 3.0 to TLS 1.2): after ChangeCipherSpec each record carries its plaintext followed by a
//! MAC, so what the application sends can be read as is. tshark decodes it (wireshark-notes'
//! `tls-null` capture: HTTP inside), and it matters here: a connection that looks encrypted but is
//! not.
//!
//! A [`Walker`] per direction follows the record headers from the first byte of the stream, without
//! buffering anything but a header. Until the final ServerHello is known it only keeps its place
//! (the ClientHello records); a ChangeCipherSpec or application data before that, a suite that is
//! not NULL, a TLS 1.3 choice, an SSLv2 record, a malformed header or a gap end the walk for good,
//! so on ordinary TLS flows it costs a few record headers. With a NULL suite, the body of every
//! application_data record after that direction's ChangeCipherSpec, minus its MAC, is handed out
//! as a [`Chunk`] of the direction's plaintext stream (offsets count plaintext bytes from 0),
//! zero-copy: each piece is a slice of the input.

use flow::Chunk;

use super::MAX_RECORD_LEN;

/// TLS record header: type, version (2), length (2).
const HEADER_LEN: usize = 5;
const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_APPLICATION_DATA: u8 = 23;
const CT_HEARTBEAT: u8 = 24;
/// Versions with the GenericStreamCipher record format a NULL cipher uses (SSL 3.0 to TLS 1.2).
const MAX_VERSION: u16 = 0x0303;

/// MAC length of a NULL-cipher suite (IANA TLS Cipher Suites registry: MD5 16, SHA 20, SHA256 32,
/// SHA384 48 bytes), `None` for any other suite.
pub(crate) fn mac_len(suite: u16) -> Option<usize> {
    match suite {
        0x0001 => Some(16),
        0x0002 | 0x002c..=0x002e | 0xc001 | 0xc006 | 0xc00b | 0xc010 | 0xc015 | 0xc039 => Some(20),
        0x003b | 0x00b0 | 0x00b4 | 0x00b8 | 0xc03a => Some(32),
        0x00b1 | 0x00b5 | 0x00b9 | 0xc03b => Some(48),
        _ => None,
    }
}

/// What the handshake says about the records after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cipher {
    /// No final ServerHello yet.
    Unknown,
    /// A NULL suite: records after ChangeCipherSpec end with a MAC of this length.
    Null(usize),
    /// Anything else: nothing to read.
    Opaque,
}

impl Cipher {
    /// From the final ServerHello's (suite, version), if seen.
    pub(crate) fn from_chosen(chosen: Option<(u16, u16)>) -> Self {
        match chosen {
            None => Self::Unknown,
            Some((suite, version)) if version <= MAX_VERSION => {
                mac_len(suite).map_or(Self::Opaque, Self::Null)
            }
            Some(_) => Self::Opaque,
        }
    }
}

/// Where a walker is in the record stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rec {
    /// Reading a header; `have` bytes of it so far.
    Header { have: usize },
    /// Inside a body: `plain` plaintext bytes to hand out, then `skip` bytes to drop.
    Body { plain: usize, skip: usize },
    /// The walk is over.
    Done,
}

/// Record walker of one direction.
#[derive(Debug)]
pub(crate) struct Walker {
    rec: Rec,
    hdr: [u8; HEADER_LEN],
    /// This direction sent its ChangeCipherSpec.
    ccs: bool,
    /// Offset of the next plaintext byte.
    plain_off: u64,
}

impl Default for Walker {
    fn default() -> Self {
        Self { rec: Rec::Header { have: 0 }, hdr: [0; HEADER_LEN], ccs: false, plain_off: 0 }
    }
}

impl Walker {
    /// True once nothing more can come out.
    pub(crate) fn is_done(&self) -> bool {
        self.rec == Rec::Done
    }

    /// One chunk of the direction's TLS stream; plaintext pieces (and the end or a loss of the
    /// plaintext stream) go to `plain`.
    pub(crate) fn feed(
        &mut self,
        cipher: Cipher,
        chunk: Chunk<'_>,
        mut plain: impl FnMut(Chunk<'_>),
    ) {
        if cipher == Cipher::Opaque {
            self.rec = Rec::Done;
        }
        if self.rec == Rec::Done {
            return;
        }
        match chunk {
            Chunk::Data { bytes, .. } => self.data(cipher, bytes, &mut plain),
            Chunk::Gap { len, .. } => {
                if self.ccs {
                    plain(Chunk::Gap { offset: self.plain_off, len });
                }
                self.rec = Rec::Done;
            }
            Chunk::End => {
                if self.ccs {
                    plain(Chunk::End);
                }
                self.rec = Rec::Done;
            }
            Chunk::Datagram(_) => {}
        }
    }

    fn data(&mut self, cipher: Cipher, mut input: &[u8], plain: &mut impl FnMut(Chunk<'_>)) {
        while !input.is_empty() {
            match self.rec {
                Rec::Done => return,
                Rec::Header { have } => {
                    let n = (HEADER_LEN - have).min(input.len());
                    let (head, rest) = input.split_at(n);
                    input = rest;
                    if let Some(dst) = self.hdr.get_mut(have..have + n) {
                        dst.copy_from_slice(head);
                    }
                    self.rec = if have + n < HEADER_LEN {
                        Rec::Header { have: have + n }
                    } else {
                        self.on_header(cipher)
                    };
                }
                Rec::Body { plain: p, skip } => {
                    let n = p.min(input.len());
                    let (part, rest) = input.split_at(n);
                    if !part.is_empty() {
                        plain(Chunk::Data { offset: self.plain_off, bytes: part });
                        self.plain_off = self.plain_off.saturating_add(n as u64);
                    }
                    let m = skip.min(rest.len());
                    input = rest.get(m..).unwrap_or_default();
                    let (p, skip) = (p - n, skip - m);
                    self.rec = if p + skip == 0 {
                        Rec::Header { have: 0 }
                    } else {
                        Rec::Body { plain: p, skip }
                    };
                }
            }
        }
    }

    /// A complete header: what to do with the body.
    fn on_header(&mut self, cipher: Cipher) -> Rec {
        let [typ, major, _, hi, lo] = self.hdr;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if !(CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&typ)
            || major != 3
            || len > MAX_RECORD_LEN
        {
            return Rec::Done;
        }
        let plain = match (cipher, typ) {
            // Keys change here; before the handshake is known nothing after it can be read.
            (Cipher::Unknown, CT_CHANGE_CIPHER_SPEC | CT_APPLICATION_DATA) => return Rec::Done,
            (Cipher::Null(_), CT_CHANGE_CIPHER_SPEC) => {
                self.ccs = true;
                0
            }
            (Cipher::Null(mac), CT_APPLICATION_DATA) if self.ccs => len.saturating_sub(mac),
            _ => 0,
        };
        if len == 0 { Rec::Header { have: 0 } } else { Rec::Body { plain, skip: len - plain } }
    }
}
