//! Handshake messages as the decryptor needs them: reassembly across records (plaintext or
//! decrypted) with only the wanted message types buffered, and the fields of the hellos that
//! select keys (randoms, session ids, ticket, suite, version, encrypt-then-MAC, ALPN).

use crate::tls::MAX_HANDSHAKE_LEN;
use crate::tls::reader::Reader;

pub(crate) const CLIENT_HELLO: u8 = 1;
pub(crate) const SERVER_HELLO: u8 = 2;
pub(crate) const NEW_SESSION_TICKET: u8 = 4;
pub(crate) const END_OF_EARLY_DATA: u8 = 5;
pub(crate) const ENCRYPTED_EXTENSIONS: u8 = 8;
pub(crate) const CERTIFICATE: u8 = 11;
pub(crate) const FINISHED: u8 = 20;
pub(crate) const KEY_UPDATE: u8 = 24;

const EXT_ALPN: u16 = 16;
const EXT_ENCRYPT_THEN_MAC: u16 = 22;
const EXT_SESSION_TICKET: u16 = 35;
const EXT_EARLY_DATA: u16 = 42;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Messages whose body is kept (all others are counted and skipped without buffering).
fn wanted(typ: u8) -> bool {
    matches!(
        typ,
        CLIENT_HELLO
            | SERVER_HELLO
            | NEW_SESSION_TICKET
            | END_OF_EARLY_DATA
            | ENCRYPTED_EXTENSIONS
            | CERTIFICATE
            | FINISHED
            | KEY_UPDATE
    )
}

/// Reassembles handshake messages from the handshake bytes of one direction.
#[derive(Debug, Default)]
pub(crate) struct HsReader {
    hdr: Vec<u8>,
    body: Vec<u8>,
    /// Bytes of the current message's body still to come.
    left: usize,
    keep: bool,
}

impl HsReader {
    /// Feeds handshake bytes; each complete message `(type, body)` goes to `msg` (skipped
    /// messages with an empty body). `false`: a message longer than [`MAX_HANDSHAKE_LEN`] that we
    /// would have to buffer.
    pub(crate) fn feed(&mut self, mut data: &[u8], mut msg: impl FnMut(u8, &[u8])) -> bool {
        while !data.is_empty() {
            if self.hdr.len() < 4 {
                let n = (4 - self.hdr.len()).min(data.len());
                self.hdr.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.hdr.len() < 4 {
                    return true;
                }
                let len = Reader::new(&self.hdr[1..]).u24().unwrap_or(0) as usize;
                self.keep = wanted(self.hdr[0]);
                if self.keep && len > MAX_HANDSHAKE_LEN {
                    // A certificate chain is only read for its names: an oversized one is
                    // skipped like any unwanted message.
                    if self.hdr[0] != CERTIFICATE {
                        return false;
                    }
                    self.keep = false;
                }
                self.left = len;
            }
            let n = self.left.min(data.len());
            if self.keep {
                self.body.extend_from_slice(&data[..n]);
            }
            data = &data[n..];
            self.left -= n;
            if self.left == 0 {
                msg(self.hdr[0], &self.body);
                self.hdr.clear();
                self.body.clear();
            }
        }
        true
    }
}

/// What a ClientHello says about keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClientInfo {
    pub(crate) random: [u8; 32],
    pub(crate) session_id: Vec<u8>,
    /// The session_ticket extension's ticket (TLS 1.2 resumption), empty if none.
    pub(crate) ticket: Vec<u8>,
    /// The early_data extension was offered (TLS 1.3 0-RTT).
    pub(crate) early_data: bool,
}

/// What a ServerHello says about keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServerInfo {
    pub(crate) random: [u8; 32],
    pub(crate) session_id: Vec<u8>,
    pub(crate) suite: u16,
    pub(crate) version: u16,
    pub(crate) etm: bool,
    pub(crate) alpn: Option<String>,
    pub(crate) hrr: bool,
}

/// The key-selecting fields of a ClientHello body.
pub(crate) fn client_info(body: &[u8]) -> Option<ClientInfo> {
    let mut r = Reader::new(body);
    r.u16()?;
    let random = r.take(32)?.try_into().ok()?;
    let session_id = r.u8_prefixed()?.to_vec();
    r.u16_prefixed()?;
    r.u8_prefixed()?;
    let mut info = ClientInfo { random, session_id, ..ClientInfo::default() };
    if r.is_empty() {
        return Some(info);
    }
    let mut exts = Reader::new(r.u16_prefixed()?);
    while !exts.is_empty() {
        let typ = exts.u16()?;
        let data = exts.u16_prefixed()?;
        match typ {
            EXT_SESSION_TICKET if info.ticket.is_empty() => info.ticket = data.to_vec(),
            EXT_EARLY_DATA => info.early_data = true,
            _ => {}
        }
    }
    Some(info)
}

/// The key-selecting fields of a ServerHello body.
pub(crate) fn server_info(body: &[u8]) -> Option<ServerInfo> {
    let mut r = Reader::new(body);
    let legacy = r.u16()?;
    let random: [u8; 32] = r.take(32)?.try_into().ok()?;
    let session_id = r.u8_prefixed()?.to_vec();
    let suite = r.u16()?;
    r.u8()?;
    let hrr = random == crate::tls::hello::HRR_RANDOM;
    let mut info =
        ServerInfo { random, session_id, suite, version: legacy, hrr, ..ServerInfo::default() };
    if r.is_empty() {
        return Some(info);
    }
    let mut exts = Reader::new(r.u16_prefixed()?);
    while !exts.is_empty() {
        let typ = exts.u16()?;
        let data = exts.u16_prefixed()?;
        match typ {
            EXT_SUPPORTED_VERSIONS => info.version = Reader::new(data).u16()?,
            EXT_ENCRYPT_THEN_MAC => info.etm = true,
            EXT_ALPN => info.alpn = alpn_choice(data),
            _ => {}
        }
    }
    Some(info)
}

/// The ALPN protocol of an EncryptedExtensions body (TLS 1.3).
pub(crate) fn encrypted_extensions_alpn(body: &[u8]) -> Option<String> {
    let mut r = Reader::new(body);
    let mut exts = Reader::new(r.u16_prefixed()?);
    while !exts.is_empty() {
        let typ = exts.u16()?;
        let data = exts.u16_prefixed()?;
        if typ == EXT_ALPN {
            return alpn_choice(data);
        }
    }
    None
}

/// The one protocol of a server's ALPN extension.
fn alpn_choice(data: &[u8]) -> Option<String> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.u16_prefixed()?);
    let name = list.u8_prefixed()?;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// The ticket of a TLS 1.2 NewSessionTicket body (lifetime hint, then the ticket).
pub(crate) fn new_session_ticket(body: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(body);
    r.u32()?;
    r.u16_prefixed().filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembles_at_every_split_and_skips_unwanted_bodies() {
        // CertificateRequest (13, skipped), Finished (20, kept), KeyUpdate (24, kept).
        let mut stream = vec![13, 0, 0, 5, 1, 2, 3, 4, 5];
        stream.extend_from_slice(&[20, 0, 0, 3, 9, 9, 9, 24, 0, 0, 1, 0]);
        for cut in 0..=stream.len() {
            let mut r = HsReader::default();
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                assert!(r.feed(part, |t, b| got.push((t, b.to_vec()))));
            }
            assert_eq!(got, vec![(13, vec![]), (20, vec![9, 9, 9]), (24, vec![0])], "cut {cut}");
        }
    }

    #[test]
    fn oversized_wanted_message_is_refused() {
        let mut r = HsReader::default();
        assert!(!r.feed(&[20, 0xff, 0xff, 0xff], |_, _| {}));
        // A certificate chain over the cap is skipped, not refused: the stream goes on.
        let mut r = HsReader::default();
        assert!(r.feed(&[11, 0xff, 0xff, 0xff, 1, 2], |_, _| {}));
        let mut r = HsReader::default();
        let mut got = Vec::new();
        let big = [&[11u8, 0x01, 0x00, 0x01][..], &vec![0; 0x1_0001], &[20, 0, 0, 1, 7]].concat();
        assert!(r.feed(&big, |t, b| got.push((t, b.len()))));
        assert_eq!(got, [(11, 0), (20, 1)]);
    }

    #[test]
    fn hello_fields() {
        let mut ch = vec![3, 3];
        ch.extend_from_slice(&[0x11; 32]);
        ch.extend_from_slice(&[2, 0xaa, 0xbb, 0, 2, 0x13, 1, 1, 0]);
        let exts = [0u8, 35, 0, 3, 7, 7, 7, 0, 42, 0, 0];
        ch.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        ch.extend_from_slice(&exts);
        let c = client_info(&ch).unwrap();
        assert_eq!(
            (c.random, c.session_id, c.ticket, c.early_data),
            ([0x11; 32], vec![0xaa, 0xbb], vec![7, 7, 7], true)
        );
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[0x22; 32]);
        sh.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
        let exts = [0u8, 22, 0, 0, 0, 16, 0, 5, 0, 3, 2, b'h', b'2'];
        sh.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        sh.extend_from_slice(&exts);
        let s = server_info(&sh).unwrap();
        assert_eq!(
            (s.suite, s.version, s.etm, s.alpn.as_deref()),
            (0xc02f, 0x0303, true, Some("h2"))
        );
        for n in 0..sh.len() {
            let _ = server_info(&sh[..n]);
            let _ = client_info(&ch[..n.min(ch.len())]);
        }
    }
}
