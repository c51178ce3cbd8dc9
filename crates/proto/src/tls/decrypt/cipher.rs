//! Cipher suites, key derivation and record protection for passive TLS decryption.
//!
//! - TLS 1.3 (RFC 8446 §7): traffic keys from a traffic secret with HKDF-Expand-Label (`key`,
//!   `iv`), the next secret of a KeyUpdate (`traffic upd`); the record nonce is the IV XOR the
//!   record sequence number; the additional data is the record header; the plaintext ends with its
//!   real content type and optional zero padding.
//! - TLS 1.2 and earlier (RFC 5246 §6.3, RFC 2246 §5): the key block from the master secret with
//!   the PRF (P_SHA256 or P_SHA384 in TLS 1.2; P_MD5 XOR P_SHA1 before), laid out as client MAC
//!   key, server MAC key, client key, server key, client IV, server IV.
//!   - AES-GCM (RFC 5288): nonce = 4-byte implicit IV + the record's 8-byte explicit nonce;
//!   - ChaCha20-Poly1305 (RFC 7905): nonce = 12-byte IV XOR the sequence number;
//!   - AES-CBC with HMAC-SHA1/256/384, MAC-then-encrypt or encrypt-then-MAC (RFC 7366); TLS 1.1+
//!     carries an explicit IV per record, TLS 1.0 chains the last ciphertext block;
//!   - RC4-128 with HMAC-MD5 or HMAC-SHA1 (one keystream per direction; `rc4`).
//!
//! Every record is authenticated (AEAD tag, HMAC) before its plaintext is used. AEAD is ring's
//! (AES-GCM in one fused pass with AES-NI/VAES and carry-less multiplication, ChaCha20-Poly1305
//! with SIMD); the rest is RustCrypto's (`aes` uses AES-NI, `sha2` SHA-NI when the CPU has them);
//! CBC is the four lines of its definition over `aes` block decryption.

use aes::cipher::{Array, BlockCipherDecrypt, KeyInit};
use aes::{Aes128, Aes256};
use hkdf::Hkdf;
use hmac::{Hmac, Mac as _};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};

/// AEAD tag length (all suites here).
pub(crate) const TAG_LEN: usize = 16;
/// AES block length.
const BLOCK: usize = 16;

/// The hash of a suite's PRF / HKDF, and of its HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    /// HMAC-MD5 of the RC4-MD5 suite (never a PRF or HKDF hash).
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl Hash {
    pub(crate) fn len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }
}

/// An AEAD algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AeadAlg {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20,
}

impl AeadAlg {
    pub(crate) fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20 => 32,
        }
    }
}

/// How a suite protects records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bulk {
    Aead(AeadAlg),
    /// AES-CBC with this key length and HMAC hash.
    Cbc {
        key_len: usize,
        mac: Hash,
    },
    /// RC4 with a 128-bit key and this HMAC hash (SSL 3.0 to TLS 1.2; still in old phones'
    /// captures).
    Rc4 {
        mac: Hash,
    },
}

/// A cipher suite we can decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suite {
    pub(crate) bulk: Bulk,
    /// The PRF hash (TLS 1.2) or HKDF hash (TLS 1.3).
    pub(crate) prf: Hash,
}

/// The suite for an IANA id, `None` for suites we do not decrypt (export, 3DES, CCM, Camellia,
/// ARIA, NULL: the last is read in the clear by `null.rs`).
pub(crate) fn suite(id: u16) -> Option<Suite> {
    use AeadAlg::{Aes128Gcm as G128, Aes256Gcm as G256, ChaCha20 as Cc};
    use Hash::{Sha1, Sha256, Sha384};
    let aead = |a, prf| Some(Suite { bulk: Bulk::Aead(a), prf });
    let cbc = |key_len, mac, prf| Some(Suite { bulk: Bulk::Cbc { key_len, mac }, prf });
    match id {
        // TLS 1.3
        0x1301 => aead(G128, Sha256),
        0x1302 => aead(G256, Sha384),
        0x1303 => aead(Cc, Sha256),
        // TLS 1.2 AES-GCM: RSA, DHE_RSA, DHE_DSS, ECDHE_ECDSA, ECDHE_RSA, PSK variants
        0x009c | 0x009e | 0x00a2 | 0xc02b | 0xc02f | 0x00a8 | 0x00aa | 0xd001 => aead(G128, Sha256),
        0x009d | 0x009f | 0x00a3 | 0xc02c | 0xc030 | 0x00a9 | 0x00ab | 0xd002 => aead(G256, Sha384),
        // ChaCha20-Poly1305 (RFC 7905)
        0xcca8..=0xccad => aead(Cc, Sha256),
        // AES-CBC with HMAC-SHA1 (RSA, DHE, ECDHE; the PRF is SHA-256 in TLS 1.2)
        0x002f | 0x0033 | 0x0032 | 0xc004 | 0xc009 | 0xc00e | 0xc013 | 0x008c => {
            cbc(16, Sha1, Sha256)
        }
        0x0035 | 0x0039 | 0x0038 | 0xc005 | 0xc00a | 0xc00f | 0xc014 | 0x008d => {
            cbc(32, Sha1, Sha256)
        }
        // AES-CBC with HMAC-SHA256 / SHA384
        0x003c | 0x0067 | 0x0040 | 0xc023 | 0xc027 | 0xc025 | 0xc029 | 0x00ae => {
            cbc(16, Sha256, Sha256)
        }
        0x003d | 0x006b | 0x006a => cbc(32, Sha256, Sha256),
        0xc024 | 0xc028 | 0xc026 | 0xc02a | 0x00af => cbc(32, Sha384, Sha384),
        // RC4-128 (not the 40-bit export suites).
        0x0004 => Some(Suite { bulk: Bulk::Rc4 { mac: Hash::Md5 }, prf: Sha256 }),
        0x0005 | 0xc002 | 0xc007 | 0xc00c | 0xc011 | 0x008a => {
            Some(Suite { bulk: Bulk::Rc4 { mac: Sha1 }, prf: Sha256 })
        }
        _ => None,
    }
}

fn hmac_parts(hash: Hash, key: &[u8], parts: &[&[u8]], out: &mut Vec<u8>) {
    macro_rules! run {
        ($h:ty) => {{
            let Ok(mut m) = Hmac::<$h>::new_from_slice(key) else { return };
            for p in parts {
                m.update(p);
            }
            out.extend_from_slice(&m.finalize().into_bytes());
        }};
    }
    match hash {
        Hash::Md5 => run!(Md5),
        Hash::Sha1 => run!(Sha1),
        Hash::Sha256 => run!(Sha256),
        Hash::Sha384 => run!(Sha384),
    }
}

/// P_hash (RFC 5246 §5) of `len` bytes.
fn p_hash(hash: Option<Hash>, secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mac = |parts: &[&[u8]], out: &mut Vec<u8>| match hash {
        Some(h) => hmac_parts(h, secret, parts, out),
        None => {
            let Ok(mut m) = Hmac::<Md5>::new_from_slice(secret) else { return };
            for p in parts {
                m.update(p);
            }
            out.extend_from_slice(&m.finalize().into_bytes());
        }
    };
    let mut out = Vec::with_capacity(len + 48);
    let mut a = Vec::new();
    mac(&[seed], &mut a);
    while out.len() < len && !a.is_empty() {
        mac(&[&a, seed], &mut out);
        let mut next = Vec::new();
        mac(&[&a], &mut next);
        a = next;
    }
    out.truncate(len);
    out
}

/// The TLS PRF: TLS 1.2 with the suite's hash, TLS 1.0/1.1 (and SSL 3.0, approximated) with
/// P_MD5 XOR P_SHA1 over the two halves of the secret.
pub(crate) fn prf(
    version: u16,
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Vec<u8> {
    let mut full = Vec::with_capacity(label.len() + seed.len());
    full.extend_from_slice(label);
    full.extend_from_slice(seed);
    if version >= 0x0303 {
        return p_hash(Some(hash), secret, &full, len);
    }
    let half = secret.len().div_ceil(2);
    let (s1, s2) = (&secret[..half], &secret[secret.len() - half..]);
    let mut out = p_hash(None, s1, &full, len);
    let sha = p_hash(Some(Hash::Sha1), s2, &full, len);
    for (o, s) in out.iter_mut().zip(sha) {
        *o ^= s;
    }
    out
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, from a secret used as the PRK.
pub(crate) fn expand_label(hash: Hash, secret: &[u8], label: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut info = Vec::with_capacity(10 + label.len());
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(6 + label.len()).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    let mut out = vec![0; len];
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret).ok()?.expand(&info, &mut out).ok()?,
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret).ok()?.expand(&info, &mut out).ok()?,
        Hash::Sha1 | Hash::Md5 => return None,
    }
    Some(out)
}

/// An AEAD key of a record protection (ring: AES-GCM in one fused pass with the CPU's AES and
/// carry-less multiplication instructions; ChaCha20-Poly1305 with SIMD).
#[derive(Debug)]
pub(crate) struct AeadKey(ring::aead::LessSafeKey);

impl AeadKey {
    pub(crate) fn new(alg: AeadAlg, key: &[u8]) -> Option<Self> {
        let alg = match alg {
            AeadAlg::Aes128Gcm => &ring::aead::AES_128_GCM,
            AeadAlg::Aes256Gcm => &ring::aead::AES_256_GCM,
            AeadAlg::ChaCha20 => &ring::aead::CHACHA20_POLY1305,
        };
        let key = ring::aead::UnboundKey::new(alg, key).ok()?;
        Some(Self(ring::aead::LessSafeKey::new(key)))
    }

    /// Decrypts `data` (ciphertext then tag) in place; the plaintext is `data[..len - 16]`.
    pub(crate) fn open(&self, nonce: &[u8; 12], aad: &[u8], data: &mut [u8]) -> Option<usize> {
        let n = data.len().checked_sub(TAG_LEN)?;
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        let plain = self.0.open_in_place(nonce, ring::aead::Aad::from(aad), data).ok()?;
        (plain.len() == n).then_some(n)
    }

    /// Encrypts in place, appending the tag (test sessions, QUIC Initials made for tests and
    /// fuzz seeds).
    pub(crate) fn seal(&self, nonce: &[u8; 12], aad: &[u8], data: &mut Vec<u8>) -> Option<()> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        self.0.seal_in_place_append_tag(nonce, ring::aead::Aad::from(aad), data).ok()
    }
}

pub(crate) enum BlockKey {
    Aes128(Box<Aes128>),
    Aes256(Box<Aes256>),
}

impl BlockKey {
    fn decrypt(&self, block: &mut [u8]) {
        let Ok(b) = <&mut Array<u8, _>>::try_from(block) else { return };
        match self {
            Self::Aes128(k) => k.decrypt_block(b),
            Self::Aes256(k) => k.decrypt_block(b),
        }
    }
}

/// What a decrypted TLS 1.2 record holds, as a range of the buffer it was decrypted in.
pub(crate) type Plain = std::ops::Range<usize>;

/// The protection of one direction's records.
pub(crate) enum RecordKeys {
    /// TLS 1.3: AEAD with a 12-byte IV, nonce = IV XOR sequence number.
    Tls13 { key: AeadKey, iv: [u8; 12] },
    /// TLS 1.2 AES-GCM: 4-byte implicit IV.
    Gcm12 { key: AeadKey, salt: [u8; 4] },
    /// TLS 1.2 ChaCha20-Poly1305.
    ChaCha12 { key: AeadKey, iv: [u8; 12] },
    /// AES-CBC with HMAC.
    Cbc {
        key: BlockKey,
        mac_key: Vec<u8>,
        mac: Hash,
        /// TLS 1.0: the IV of the next record (the last ciphertext block of this one).
        chained_iv: Option<[u8; BLOCK]>,
        etm: bool,
    },
    /// RC4 with HMAC: one keystream per direction across records.
    Rc4 { rc4: Box<rc4::Rc4>, mac_key: Vec<u8>, mac: Hash },
}

impl std::fmt::Debug for RecordKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Tls13 { .. } => "Tls13",
            Self::Gcm12 { .. } => "Gcm12",
            Self::ChaCha12 { .. } => "ChaCha12",
            Self::Cbc { .. } => "Cbc",
            Self::Rc4 { .. } => "Rc4",
        };
        f.write_str(name) // never the keys
    }
}

fn xor_seq(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

impl RecordKeys {
    /// TLS 1.3 keys of one direction from its traffic secret.
    pub(crate) fn tls13(suite: Suite, secret: &[u8]) -> Option<Self> {
        let Bulk::Aead(alg) = suite.bulk else { return None };
        let key = expand_label(suite.prf, secret, b"key", alg.key_len())?;
        let iv = expand_label(suite.prf, secret, b"iv", 12)?;
        Some(Self::Tls13 { key: AeadKey::new(alg, &key)?, iv: iv.try_into().ok()? })
    }

    /// The TLS 1.2 (or 1.0/1.1) keys of both directions, `[client, server]`, from the master
    /// secret.
    pub(crate) fn tls12(
        suite: Suite,
        version: u16,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        etm: bool,
    ) -> Option<[Self; 2]> {
        let (mac_len, key_len, iv_len) = match suite.bulk {
            Bulk::Aead(AeadAlg::ChaCha20) => (0, 32, 12),
            Bulk::Aead(a) => (0, a.key_len(), 4),
            Bulk::Cbc { key_len, mac } => (mac.len(), key_len, BLOCK),
            Bulk::Rc4 { mac } => (mac.len(), 16, 0),
        };
        let mut seed = [0u8; 64];
        seed[..32].copy_from_slice(server_random);
        seed[32..].copy_from_slice(client_random);
        let block = prf(
            version,
            suite.prf,
            master,
            b"key expansion",
            &seed,
            2 * (mac_len + key_len + iv_len),
        );
        let mut at = 0;
        let mut take = |n: usize| {
            let part = block.get(at..at + n).unwrap_or_default().to_vec();
            at += n;
            part
        };
        let (cmac, smac, ckey, skey, civ, siv) = (
            take(mac_len),
            take(mac_len),
            take(key_len),
            take(key_len),
            take(iv_len),
            take(iv_len),
        );
        let one = |mac_key: Vec<u8>, key: Vec<u8>, iv: Vec<u8>| -> Option<Self> {
            Some(match suite.bulk {
                Bulk::Aead(AeadAlg::ChaCha20) => Self::ChaCha12 {
                    key: AeadKey::new(AeadAlg::ChaCha20, &key)?,
                    iv: iv.try_into().ok()?,
                },
                Bulk::Aead(a) => {
                    Self::Gcm12 { key: AeadKey::new(a, &key)?, salt: iv.try_into().ok()? }
                }
                Bulk::Rc4 { mac } => {
                    Self::Rc4 { rc4: Box::new(rc4::Rc4::new_from_slice(&key).ok()?), mac_key, mac }
                }
                Bulk::Cbc { key_len, mac } => Self::Cbc {
                    key: if key_len == 16 {
                        BlockKey::Aes128(Box::new(Aes128::new_from_slice(&key).ok()?))
                    } else {
                        BlockKey::Aes256(Box::new(Aes256::new_from_slice(&key).ok()?))
                    },
                    mac_key,
                    mac,
                    chained_iv: if version <= 0x0301 { iv.try_into().ok() } else { None },
                    etm,
                },
            })
        };
        Some([one(cmac, ckey, civ)?, one(smac, skey, siv)?])
    }

    /// Decrypts a TLS 1.3 record body in place (`hdr` is its 5-byte header): the inner content
    /// type and the plaintext's length at the start of `body`. `None`: authentication failed or
    /// the plaintext holds no content type.
    pub(crate) fn open13(&self, seq: u64, hdr: &[u8; 5], body: &mut [u8]) -> Option<(u8, usize)> {
        let Self::Tls13 { key, iv } = self else { return None };
        let n = key.open(&xor_seq(iv, seq), hdr, body)?;
        let end = body[..n].iter().rposition(|&b| b != 0)?;
        Some((body[end], end))
    }

    /// Decrypts a TLS 1.0-1.2 record body in place; the plaintext's range in `body`. `None`:
    /// authentication failed or the record is malformed.
    pub(crate) fn open12(&mut self, seq: u64, hdr: &[u8; 5], body: &mut [u8]) -> Option<Plain> {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&seq.to_be_bytes());
        aad[8..11].copy_from_slice(&hdr[..3]);
        match self {
            Self::Gcm12 { key, salt } => {
                let plain_len = body.len().checked_sub(8 + TAG_LEN)?;
                aad[11..].copy_from_slice(&u16::try_from(plain_len).ok()?.to_be_bytes());
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(body.get(..8)?);
                key.open(&nonce, &aad, &mut body[8..])?;
                Some(8..8 + plain_len)
            }
            Self::ChaCha12 { key, iv } => {
                let plain_len = body.len().checked_sub(TAG_LEN)?;
                aad[11..].copy_from_slice(&u16::try_from(plain_len).ok()?.to_be_bytes());
                key.open(&xor_seq(iv, seq), &aad, body)?;
                Some(0..plain_len)
            }
            Self::Cbc { key, mac_key, mac, chained_iv, etm } => {
                open_cbc(key, mac_key, *mac, chained_iv, *etm, &mut aad, body)
            }
            Self::Rc4 { rc4, mac_key, mac } => {
                use aes::cipher::StreamCipher;
                rc4.apply_keystream(body);
                let content_len = body.len().checked_sub(mac.len())?;
                aad[11..].copy_from_slice(&u16::try_from(content_len).ok()?.to_be_bytes());
                let mut tag = Vec::with_capacity(20);
                hmac_parts(*mac, mac_key, &[&aad[..], &body[..content_len]], &mut tag);
                (tag[..] == body[content_len..]).then_some(0..content_len)
            }
            Self::Tls13 { .. } => None,
        }
    }
}

/// AES-CBC + HMAC record (TLS 1.0-1.2), MAC-then-encrypt or encrypt-then-MAC.
fn open_cbc(
    key: &BlockKey,
    mac_key: &[u8],
    mac: Hash,
    chained_iv: &mut Option<[u8; BLOCK]>,
    etm: bool,
    aad: &mut [u8; 13],
    body: &mut [u8],
) -> Option<Plain> {
    let mac_len = mac.len();
    let mut tag = Vec::with_capacity(48);
    // Encrypt-then-MAC: the MAC covers the IV and ciphertext and is checked first.
    let ct_end = if etm {
        let ct_end = body.len().checked_sub(mac_len)?;
        aad[11..].copy_from_slice(&u16::try_from(ct_end).ok()?.to_be_bytes());
        hmac_parts(mac, mac_key, &[&aad[..], &body[..ct_end]], &mut tag);
        if tag.is_empty() || tag[..] != body[ct_end..] {
            return None;
        }
        ct_end
    } else {
        body.len()
    };
    let explicit = chained_iv.is_none();
    let ct = &mut body[..ct_end];
    if ct.is_empty() || !ct.len().is_multiple_of(BLOCK) || (explicit && ct.len() < 2 * BLOCK) {
        return None;
    }
    let (mut prev, start) = match chained_iv {
        Some(iv) => (*iv, 0),
        None => (ct[..BLOCK].try_into().ok()?, BLOCK),
    };
    if let Some(iv) = chained_iv.as_mut() {
        *iv = ct[ct.len() - BLOCK..].try_into().ok()?;
    }
    for block in ct[start..].chunks_exact_mut(BLOCK) {
        let saved: [u8; BLOCK] = (*block).try_into().ok()?;
        key.decrypt(block);
        for (b, p) in block.iter_mut().zip(prev) {
            *b ^= p;
        }
        prev = saved;
    }
    let data = &ct[start..];
    let pad = usize::from(*data.last()?);
    let unpadded = data.len().checked_sub(pad + 1)?;
    if data[unpadded..].iter().any(|&b| usize::from(b) != pad) {
        return None;
    }
    if etm {
        return Some(start..start + unpadded);
    }
    let content_len = unpadded.checked_sub(mac_len)?;
    aad[11..].copy_from_slice(&u16::try_from(content_len).ok()?.to_be_bytes());
    hmac_parts(mac, mac_key, &[&aad[..], &data[..content_len]], &mut tag);
    if tag.is_empty() || tag[..] != data[content_len..unpadded] {
        return None;
    }
    Some(start..start + content_len)
}

/// The TLS 1.3 traffic secret after a KeyUpdate.
pub(crate) fn next_secret(hash: Hash, secret: &[u8]) -> Option<Vec<u8>> {
    expand_label(hash, secret, b"traffic upd", hash.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        crate::tls::keylog::unhex(s.as_bytes()).unwrap()
    }

    #[test]
    fn tls12_prf_matches_the_published_sha256_vector() {
        // The TLS 1.2 PRF (SHA-256) test vector circulated on the IETF TLS list (also in Go's
        // crypto/tls tests): secret, "test label", seed -> 100 bytes.
        let secret = unhex("9bbe436ba940f017b17652849a71db35");
        let seed = unhex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf(0x0303, Hash::Sha256, &secret, b"test label", &seed, 100);
        assert_eq!(
            out,
            unhex(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
            )
        );
    }

    #[test]
    fn tls13_keys_match_rfc8448() {
        // RFC 8448 §3: server handshake traffic secret -> key and IV.
        let secret = unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        assert_eq!(
            expand_label(Hash::Sha256, &secret, b"key", 16).unwrap(),
            unhex("3fce516009c21727d0f2e4e86ee403bc")
        );
        assert_eq!(
            expand_label(Hash::Sha256, &secret, b"iv", 12).unwrap(),
            unhex("5d313eb2671276ee13000b30")
        );
    }

    #[test]
    fn tls13_record_round_trip_and_tamper() {
        for id in [0x1301, 0x1302, 0x1303] {
            let s = suite(id).unwrap();
            let keys = RecordKeys::tls13(s, &[7; 48][..s.prf.len()]).unwrap();
            let mut plain = b"GET / HTTP/1.1\r\n\r\n".to_vec();
            plain.push(23);
            plain.extend_from_slice(&[0, 0, 0]);
            let len = (plain.len() + TAG_LEN) as u16;
            let hdr = [23, 3, 3, (len >> 8) as u8, len as u8];
            let RecordKeys::Tls13 { key, iv } = &keys else { panic!("TLS 1.3 record keys") };
            let mut sealed = plain.clone();
            key.seal(&xor_seq(iv, 5), &hdr, &mut sealed).expect("seal");
            let mut body = sealed.clone();
            assert_eq!(keys.open13(5, &hdr, &mut body), Some((23, 18)));
            assert_eq!(&body[..18], b"GET / HTTP/1.1\r\n\r\n");
            let mut body = sealed.clone();
            assert_eq!(keys.open13(6, &hdr, &mut body), None, "wrong sequence number");
            let mut body = sealed;
            body[0] ^= 1;
            assert_eq!(keys.open13(5, &hdr, &mut body), None, "flipped bit");
        }
    }
}
