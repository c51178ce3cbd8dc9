//! QUIC v1 (RFC 9000 / 9001) and v2 (RFC 9369) client Initial packets, encrypted with the
//! initial keys derived from the Destination Connection ID (HKDF-SHA256, AES-128-GCM, AES-ECB
//! header protection), plus an opener for tests.
//!
//! ```
//! use testkit::app::quic::{self, QuicVersion};
//! let d = quic::client_initial(QuicVersion::V1, &[1; 8], &[2; 8], "quic.example", &["h3"]);
//! assert_eq!(d.len(), 1200);
//! let opened = quic::open_initial(&d, false).unwrap();
//! assert_eq!(opened.version, 1);
//! assert_eq!(opened.payload[0], 0x06); // a CRYPTO frame
//! ```

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;

use super::tls::ClientHello;

/// A QUIC version with its own initial salt and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuicVersion {
    /// QUIC version 1 (0x00000001).
    V1,
    /// QUIC version 2 (0x6b3343cf).
    V2,
}

impl QuicVersion {
    /// The 32-bit version number on the wire.
    pub fn wire(self) -> u32 {
        match self {
            Self::V1 => 0x0000_0001,
            Self::V2 => 0x6b33_43cf,
        }
    }

    /// The version for a wire number, if it is v1 or v2.
    pub fn from_wire(v: u32) -> Option<Self> {
        match v {
            0x0000_0001 => Some(Self::V1),
            0x6b33_43cf => Some(Self::V2),
            _ => None,
        }
    }

    /// The initial salt.
    pub fn initial_salt(self) -> [u8; 20] {
        match self {
            Self::V1 => [
                0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
            ],
            Self::V2 => [
                0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
            ],
        }
    }

    /// HKDF labels for (key, iv, hp).
    pub fn labels(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::V1 => ("quic key", "quic iv", "quic hp"),
            Self::V2 => ("quicv2 key", "quicv2 iv", "quicv2 hp"),
        }
    }

    /// The long-header packet type bits of an Initial (v1: 0b00, v2: 0b01).
    pub fn initial_type_bits(self) -> u8 {
        match self {
            Self::V1 => 0,
            Self::V2 => 1,
        }
    }
}

/// AES-128-GCM packet protection keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InitialKeys {
    /// AEAD key.
    pub key: [u8; 16],
    /// AEAD IV.
    pub iv: [u8; 12],
    /// Header-protection key.
    pub hp: [u8; 16],
}

/// TLS 1.3 HKDF-Expand-Label with SHA-256 over the pseudo-random key `prk`.
pub fn hkdf_expand_label(prk: &[u8], label: &str, context: &[u8], len: usize) -> Vec<u8> {
    let full = 6 + label.len();
    let mut info = Vec::with_capacity(4 + full + context.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(full as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(context.len() as u8);
    info.extend_from_slice(context);
    let hk = Hkdf::<Sha256>::from_prk(prk).expect("PRK of hash length");
    let mut out = vec![0; len];
    hk.expand(&info, &mut out).expect("HKDF output length");
    out
}

/// `initial_secret = HKDF-Extract(initial_salt, dcid)`.
pub fn initial_secret(version: QuicVersion, dcid: &[u8]) -> [u8; 32] {
    let (prk, _) = Hkdf::<Sha256>::extract(Some(&version.initial_salt()), dcid);
    let mut s = [0; 32];
    s.copy_from_slice(&prk);
    s
}

/// The client (`server == false`) or server initial keys for a connection whose client chose
/// `dcid`.
pub fn initial_keys(version: QuicVersion, dcid: &[u8], server: bool) -> InitialKeys {
    let init = initial_secret(version, dcid);
    let secret = hkdf_expand_label(&init, if server { "server in" } else { "client in" }, &[], 32);
    let (kl, il, hl) = version.labels();
    let mut k = InitialKeys { key: [0; 16], iv: [0; 12], hp: [0; 16] };
    k.key.copy_from_slice(&hkdf_expand_label(&secret, kl, &[], 16));
    k.iv.copy_from_slice(&hkdf_expand_label(&secret, il, &[], 12));
    k.hp.copy_from_slice(&hkdf_expand_label(&secret, hl, &[], 16));
    k
}

/// The client's initial keys.
pub fn client_initial_keys(version: QuicVersion, dcid: &[u8]) -> InitialKeys {
    initial_keys(version, dcid, false)
}

/// The server's initial keys.
pub fn server_initial_keys(version: QuicVersion, dcid: &[u8]) -> InitialKeys {
    initial_keys(version, dcid, true)
}

fn nonce(iv: &[u8; 12], pn: u64) -> [u8; 12] {
    let mut n = *iv;
    for (b, p) in n[4..].iter_mut().zip(pn.to_be_bytes()) {
        *b ^= p;
    }
    n
}

fn hp_mask(hp: &[u8; 16], sample: &[u8]) -> [u8; 16] {
    let cipher = aes::Aes128::new_from_slice(hp).expect("16-byte key");
    let mut block = aes::Block::default();
    block.copy_from_slice(&sample[..16]);
    cipher.encrypt_block(&mut block);
    let mut m = [0; 16];
    m.copy_from_slice(&block);
    m
}

/// Protects a packet: `header` is the unprotected header ending with the `pn_len`-byte packet
/// number `pn`; `payload` the plaintext frames. Returns header-protected header + ciphertext +
/// tag. The payload must be long enough for the header-protection sample (4 - pn_len bytes).
pub fn protect(
    keys: &InitialKeys,
    header: &[u8],
    pn_len: usize,
    pn: u64,
    payload: &[u8],
) -> Vec<u8> {
    assert!((1..=4).contains(&pn_len), "packet number length must be 1..=4");
    assert!(payload.len() + pn_len >= 4, "payload too short for the header-protection sample");
    let pn_offset = header.len() - pn_len;
    let cipher = Aes128Gcm::new_from_slice(&keys.key).expect("16-byte key");
    let mut out = Vec::with_capacity(header.len() + payload.len() + 16);
    out.extend_from_slice(header);
    out.extend_from_slice(payload);
    let nonce: Nonce<_> = nonce(&keys.iv, pn).into();
    let (head, body) = out.split_at_mut(header.len());
    let tag = cipher.encrypt_inout_detached(&nonce, head, body.into()).expect("AES-GCM encryption");
    out.extend_from_slice(&tag);
    let mask = hp_mask(&keys.hp, &out[pn_offset + 4..pn_offset + 20]);
    out[0] ^= mask[0] & if out[0] & 0x80 != 0 { 0x0f } else { 0x1f };
    for i in 0..pn_len {
        out[pn_offset + i] ^= mask[1 + i];
    }
    out
}

/// Appends a QUIC variable-length integer (the shortest encoding).
pub fn write_varint(v: u64, out: &mut Vec<u8>) {
    match v {
        0..=63 => out.push(v as u8),
        64..=16_383 => out.extend_from_slice(&(0x4000 | v as u16).to_be_bytes()),
        16_384..=1_073_741_823 => out.extend_from_slice(&(0x8000_0000 | v as u32).to_be_bytes()),
        _ => {
            assert!(v < 1 << 62, "varint out of range");
            out.extend_from_slice(&(0xc000_0000_0000_0000 | v).to_be_bytes());
        }
    }
}

/// Encoded length of a varint.
pub fn varint_len(v: u64) -> usize {
    match v {
        0..=63 => 1,
        64..=16_383 => 2,
        16_384..=1_073_741_823 => 4,
        _ => 8,
    }
}

/// Reads a varint at `*at`, advancing it.
pub fn read_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let first = *b.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(*at..*at + len)?;
    let mut v = u64::from(first & 0x3f);
    for &x in &bytes[1..] {
        v = (v << 8) | u64::from(x);
    }
    *at += len;
    Some(v)
}

/// Appends a CRYPTO frame (type 0x06) carrying `data` at stream `offset`.
pub fn crypto_frame(offset: u64, data: &[u8], out: &mut Vec<u8>) {
    out.push(0x06);
    write_varint(offset, out);
    write_varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// Typical client transport parameters (max idle timeout, flow-control limits, stream limits,
/// initial_source_connection_id = `scid`), as a quic_transport_parameters extension body.
pub fn transport_parameters(scid: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    let mut param = |id: u64, value: &[u8]| {
        write_varint(id, &mut v);
        write_varint(value.len() as u64, &mut v);
        v.extend_from_slice(value);
    };
    let int = |x: u64| {
        let mut b = Vec::new();
        write_varint(x, &mut b);
        b
    };
    param(0x01, &int(30_000)); // max_idle_timeout
    param(0x03, &int(1472)); // max_udp_payload_size
    param(0x04, &int(15_728_640)); // initial_max_data
    param(0x05, &int(6_291_456)); // initial_max_stream_data_bidi_local
    param(0x06, &int(6_291_456)); // initial_max_stream_data_bidi_remote
    param(0x07, &int(6_291_456)); // initial_max_stream_data_uni
    param(0x08, &int(100)); // initial_max_streams_bidi
    param(0x09, &int(103)); // initial_max_streams_uni
    param(0x0f, scid); // initial_source_connection_id
    v
}

/// Builder of client Initial packets (one per datagram, padded to `min_datagram`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientInitial {
    /// Version (selects salt, labels and type bits).
    pub version: QuicVersion,
    /// Destination connection id (also the key-derivation input).
    pub dcid: Vec<u8>,
    /// Source connection id.
    pub scid: Vec<u8>,
    /// Token (empty unless answering a Retry).
    pub token: Vec<u8>,
    /// Packet number of the first packet.
    pub packet_number: u64,
    /// Packet number length in bytes (1..=4).
    pub pn_len: usize,
    /// PADDING frames are added until the packet is at least this long (1200 per RFC 9000).
    pub min_datagram: usize,
}

impl ClientInitial {
    /// Packet number 0 in 1 byte, no token, 1200-byte datagrams.
    pub fn new(version: QuicVersion, dcid: &[u8], scid: &[u8]) -> Self {
        Self {
            version,
            dcid: dcid.to_vec(),
            scid: scid.to_vec(),
            token: Vec::new(),
            packet_number: 0,
            pn_len: 1,
            min_datagram: 1200,
        }
    }

    fn header(&self, pn: u64, length: usize) -> Vec<u8> {
        let mut h = Vec::with_capacity(32 + self.dcid.len() + self.scid.len() + self.token.len());
        h.push(0xc0 | (self.version.initial_type_bits() << 4) | (self.pn_len as u8 - 1));
        h.extend_from_slice(&self.version.wire().to_be_bytes());
        h.push(self.dcid.len() as u8);
        h.extend_from_slice(&self.dcid);
        h.push(self.scid.len() as u8);
        h.extend_from_slice(&self.scid);
        write_varint(self.token.len() as u64, &mut h);
        h.extend_from_slice(&self.token);
        assert!(length < 16_384, "Initial packet too long");
        h.extend_from_slice(&(0x4000 | length as u16).to_be_bytes()); // always 2 bytes
        h.extend_from_slice(&pn.to_be_bytes()[8 - self.pn_len..]);
        h
    }

    /// One protected Initial with packet number `pn` carrying `frames` (plaintext), padded with
    /// PADDING frames to `min_datagram` bytes.
    pub fn packet_with_pn(&self, pn: u64, frames: &[u8]) -> Vec<u8> {
        let header_len = 1
            + 4
            + 1
            + self.dcid.len()
            + 1
            + self.scid.len()
            + varint_len(self.token.len() as u64)
            + self.token.len()
            + 2
            + self.pn_len;
        let payload_len = frames
            .len()
            .max(self.min_datagram.saturating_sub(header_len + 16))
            .max(4 - self.pn_len);
        let mut payload = Vec::with_capacity(payload_len);
        payload.extend_from_slice(frames);
        payload.resize(payload_len, 0);
        let header = self.header(pn, self.pn_len + payload_len + 16);
        protect(&client_initial_keys(self.version, &self.dcid), &header, self.pn_len, pn, &payload)
    }

    /// One protected Initial (packet number `packet_number`) carrying `frames`.
    pub fn packet(&self, frames: &[u8]) -> Vec<u8> {
        self.packet_with_pn(self.packet_number, frames)
    }

    /// The `client_hello` handshake message in CRYPTO frames of at most `max_crypto` bytes,
    /// one Initial (one datagram) each, packet numbers counting up from `packet_number`.
    pub fn datagrams(&self, client_hello: &[u8], max_crypto: usize) -> Vec<Vec<u8>> {
        client_hello
            .chunks(max_crypto.max(1))
            .enumerate()
            .map(|(i, chunk)| {
                let mut f = Vec::with_capacity(chunk.len() + 9);
                crypto_frame((i * max_crypto) as u64, chunk, &mut f);
                self.packet_with_pn(self.packet_number + i as u64, &f)
            })
            .collect()
    }
}

/// A one-datagram client Initial for `sni` offering `alpn` (ClientHello built by
/// [`ClientHello::quic`] with [`transport_parameters`]).
pub fn client_initial(
    version: QuicVersion,
    dcid: &[u8],
    scid: &[u8],
    sni: &str,
    alpn: &[&str],
) -> Vec<u8> {
    let ch = ClientHello::quic(sni, alpn, transport_parameters(scid)).handshake_bytes();
    let mut f = Vec::with_capacity(ch.len() + 8);
    crypto_frame(0, &ch, &mut f);
    ClientInitial::new(version, dcid, scid).packet(&f)
}

/// A decrypted long-header Initial packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedInitial {
    /// Wire version.
    pub version: u32,
    /// Destination connection id.
    pub dcid: Vec<u8>,
    /// Source connection id.
    pub scid: Vec<u8>,
    /// Token.
    pub token: Vec<u8>,
    /// Truncated packet number as sent.
    pub packet_number: u64,
    /// Unprotected first byte.
    pub first_byte: u8,
    /// Decrypted frames.
    pub payload: Vec<u8>,
    /// Bytes of the datagram this packet used (coalesced packets may follow).
    pub packet_len: usize,
}

/// Opens the first packet of `datagram` as a QUIC v1 / v2 Initial, with keys derived from the
/// packet's own DCID: right for client Initials. `from_server` selects the server keys; server
/// Initials carry the server's DCID, so open them with [`open_initial_with`] and the client's
/// original DCID. Returns `None` if the packet is not an Initial or does not decrypt.
pub fn open_initial(datagram: &[u8], from_server: bool) -> Option<OpenedInitial> {
    let dcid_len = usize::from(*datagram.get(5)?);
    let dcid = datagram.get(6..6 + dcid_len)?.to_vec();
    open_initial_with(datagram, from_server, &dcid)
}

/// Opens an Initial with keys derived from `key_dcid` (the DCID of the client's first Initial).
pub fn open_initial_with(
    datagram: &[u8],
    from_server: bool,
    key_dcid: &[u8],
) -> Option<OpenedInitial> {
    let b = datagram;
    if b.first()? & 0xc0 != 0xc0 {
        return None;
    }
    let version = u32::from_be_bytes(b.get(1..5)?.try_into().ok()?);
    let v = QuicVersion::from_wire(version)?;
    if (b[0] >> 4) & 3 != v.initial_type_bits() {
        return None;
    }
    let mut at = 5;
    let dl = usize::from(*b.get(at)?);
    let dcid = b.get(at + 1..at + 1 + dl)?.to_vec();
    at += 1 + dl;
    let sl = usize::from(*b.get(at)?);
    let scid = b.get(at + 1..at + 1 + sl)?.to_vec();
    at += 1 + sl;
    let tl = read_varint(b, &mut at)? as usize;
    let token = b.get(at..at + tl)?.to_vec();
    at += tl;
    let length = read_varint(b, &mut at)? as usize;
    let pn_offset = at;
    let end = pn_offset.checked_add(length)?;
    if end > b.len() || length < 20 {
        return None;
    }
    let keys = initial_keys(v, key_dcid, from_server);
    let mask = hp_mask(&keys.hp, b.get(pn_offset + 4..pn_offset + 20)?);
    let first = b[0] ^ (mask[0] & 0x0f);
    let pn_len = usize::from(first & 3) + 1;
    let mut header = b[..pn_offset + pn_len].to_vec();
    header[0] = first;
    let mut pn = 0u64;
    for i in 0..pn_len {
        header[pn_offset + i] ^= mask[1 + i];
        pn = (pn << 8) | u64::from(header[pn_offset + i]);
    }
    let ct_start = pn_offset + pn_len;
    if end < ct_start + 16 {
        return None;
    }
    let mut payload = b[ct_start..end - 16].to_vec();
    let tag: aes_gcm::Tag = aes_gcm::Tag::try_from(&b[end - 16..end]).ok()?;
    let cipher = Aes128Gcm::new_from_slice(&keys.key).ok()?;
    let nonce: Nonce<_> = nonce(&keys.iv, pn).into();
    cipher.decrypt_inout_detached(&nonce, &header, payload.as_mut_slice().into(), &tag).ok()?;
    Some(OpenedInitial {
        version,
        dcid,
        scid,
        token,
        packet_number: pn,
        first_byte: first,
        payload,
        packet_len: end,
    })
}

pub mod vectors;

#[cfg(test)]
mod tests;
