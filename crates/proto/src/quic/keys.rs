//! QUIC packet protection from TLS 1.3 traffic secrets (RFC 9001 §5, RFC 9369 §3.3): the AEAD
//! key and IV and the header-protection key of one direction and epoch, header protection removal
//! (AES-ECB or ChaCha20 on a 16-byte sample), packet number recovery, payload decryption, and the
//! next generation of 1-RTT keys after a key update (`quic ku`, header protection unchanged).

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes256};
use chacha20::cipher::{KeyIvInit, StreamCipherCore};
use chacha20::variants::Ietf;
use chacha20::{ChaChaCore, R20};

use super::crypto::decode_packet_number;
use crate::tls::decrypt::cipher::{AeadAlg, AeadKey, Bulk, Suite, TAG_LEN, expand_label};

/// The header-protection sample starts 4 bytes after the packet number offset.
const SAMPLE_OFFSET: usize = 4;
const SAMPLE_LEN: usize = 16;

enum Hp {
    Aes128(Box<Aes128>),
    Aes256(Box<Aes256>),
    ChaCha([u8; 32]),
}

impl Hp {
    fn mask(&self, sample: &[u8]) -> Option<[u8; 5]> {
        let mut out = [0u8; 5];
        match self {
            Self::Aes128(k) => {
                let mut b = Array::try_from(sample).ok()?;
                k.encrypt_block(&mut b);
                out.copy_from_slice(&b[..5]);
            }
            Self::Aes256(k) => {
                let mut b = Array::try_from(sample).ok()?;
                k.encrypt_block(&mut b);
                out.copy_from_slice(&b[..5]);
            }
            Self::ChaCha(key) => {
                let counter = u32::from_le_bytes(sample.get(..4)?.try_into().ok()?);
                let nonce: [u8; 12] = sample.get(4..16)?.try_into().ok()?;
                // One block at the sample's counter, through the core: the stream wrapper
                // refuses counter 0xffffffff (its last block), which RFC 9001 §5.4.4 allows.
                let mut core = ChaChaCore::<R20, Ietf>::new(&(*key).into(), &nonce.into());
                core.set_block_pos(counter);
                let mut block = Default::default();
                core.write_keystream_block(&mut block);
                out.copy_from_slice(&block[..5]);
            }
        }
        Some(out)
    }
}

/// The labels of a QUIC version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Labels {
    key: &'static [u8],
    iv: &'static [u8],
    hp: &'static [u8],
    ku: &'static [u8],
}

impl Labels {
    pub(crate) fn of(v2: bool) -> Self {
        if v2 {
            Self { key: b"quicv2 key", iv: b"quicv2 iv", hp: b"quicv2 hp", ku: b"quicv2 ku" }
        } else {
            Self { key: b"quic key", iv: b"quic iv", hp: b"quic hp", ku: b"quic ku" }
        }
    }
}

/// The AEAD half of a direction's keys (what a key update replaces).
pub(crate) struct Aead {
    key: AeadKey,
    iv: [u8; 12],
}

impl Aead {
    fn derive(suite: Suite, labels: Labels, secret: &[u8]) -> Option<Self> {
        let Bulk::Aead(alg) = suite.bulk else { return None };
        let key = expand_label(suite.prf, secret, labels.key, alg.key_len())?;
        let iv = expand_label(suite.prf, secret, labels.iv, 12)?;
        Some(Self { key: AeadKey::new(alg, &key)?, iv: iv.try_into().ok()? })
    }

    fn nonce(&self, pn: u64) -> [u8; 12] {
        let mut n = self.iv;
        for (b, p) in n[4..].iter_mut().zip(pn.to_be_bytes()) {
            *b ^= p;
        }
        n
    }
}

/// Keys of one direction and epoch.
pub(crate) struct PacketKeys {
    hp: Hp,
    aead: Aead,
    suite: Suite,
    labels: Labels,
    secret: Vec<u8>,
}

impl std::fmt::Debug for PacketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PacketKeys") // never the keys
    }
}

/// A decrypted packet: its number, the first byte without header protection, and where the
/// plaintext frames are in the buffer.
pub(crate) struct Opened {
    pub(crate) pn: u64,
    pub(crate) first: u8,
    pub(crate) payload: std::ops::Range<usize>,
}

impl PacketKeys {
    /// Keys for `secret` with `suite`.
    pub(crate) fn new(suite: Suite, v2: bool, secret: &[u8]) -> Option<Self> {
        let labels = Labels::of(v2);
        let Bulk::Aead(alg) = suite.bulk else { return None };
        let hp_len = if alg == AeadAlg::Aes128Gcm { 16 } else { 32 };
        let hp_key = expand_label(suite.prf, secret, labels.hp, hp_len)?;
        let hp = match alg {
            AeadAlg::Aes128Gcm => Hp::Aes128(Box::new(Aes128::new_from_slice(&hp_key).ok()?)),
            AeadAlg::Aes256Gcm => Hp::Aes256(Box::new(Aes256::new_from_slice(&hp_key).ok()?)),
            AeadAlg::ChaCha20 => Hp::ChaCha(hp_key.try_into().ok()?),
        };
        Some(Self {
            hp,
            aead: Aead::derive(suite, labels, secret)?,
            suite,
            labels,
            secret: secret.to_vec(),
        })
    }

    /// The keys after a key update (RFC 9001 §6): new AEAD key and IV, same header protection.
    pub(crate) fn next(&self) -> Option<Self> {
        let secret =
            expand_label(self.suite.prf, &self.secret, self.labels.ku, self.suite.prf.len())?;
        Some(Self {
            hp: match &self.hp {
                Hp::Aes128(k) => Hp::Aes128(k.clone()),
                Hp::Aes256(k) => Hp::Aes256(k.clone()),
                Hp::ChaCha(k) => Hp::ChaCha(*k),
            },
            aead: Aead::derive(self.suite, self.labels, &secret)?,
            suite: self.suite,
            labels: self.labels,
            secret,
        })
    }

    /// Removes header protection from `buf` (one whole packet, copied) and decrypts it in place.
    /// `long`: a long-header packet (4 protected bits in the first byte, else 5). `None` when the
    /// packet is too short or its tag does not verify.
    pub(crate) fn open(
        &self,
        buf: &mut [u8],
        pn_offset: usize,
        long: bool,
        largest: Option<u64>,
    ) -> Option<Opened> {
        let sample_at = pn_offset.checked_add(SAMPLE_OFFSET)?;
        let mask = self.hp.mask(buf.get(sample_at..sample_at.checked_add(SAMPLE_LEN)?)?)?;
        let first = buf.first_mut()?;
        *first ^= mask[0] & if long { 0x0f } else { 0x1f };
        let first = *first;
        let pn_len = usize::from(first & 0x03) + 1;
        let mut truncated = 0u64;
        for (b, m) in buf.get_mut(pn_offset..pn_offset + pn_len)?.iter_mut().zip(&mask[1..]) {
            *b ^= m;
            truncated = truncated << 8 | u64::from(*b);
        }
        let pn = decode_packet_number(largest, truncated, pn_len * 8);
        let payload_start = pn_offset + pn_len;
        if buf.len() < payload_start + TAG_LEN {
            return None;
        }
        let (aad, rest) = buf.split_at_mut(payload_start);
        let n = self.aead.key.open(&self.aead.nonce(pn), aad, rest)?;
        Some(Opened { pn, first, payload: payload_start..payload_start + n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::decrypt::cipher::suite;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        crate::tls::keylog::unhex(s.as_bytes()).unwrap()
    }

    /// RFC 9001 Appendix A.5: a ChaCha20-Poly1305 short header packet.
    #[test]
    fn rfc9001_a5_chacha20_short_header() {
        let secret = unhex("9ac312a7f877468ebe69422748ad00a1 5443f18203a07d6060f688f30f21632b");
        let keys = PacketKeys::new(suite(0x1303).unwrap(), false, &secret).unwrap();
        let mut pkt = unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb");
        let o = keys.open(&mut pkt, 1, false, Some(654_360_564)).unwrap();
        assert_eq!(o.pn, 654_360_564);
        assert_eq!(o.first, 0x42);
        assert_eq!(&pkt[o.payload], &[0x01]); // a PING frame
        // The key update label gives another key; a flipped bit fails.
        assert!(keys.next().is_some());
        let mut bad = unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfa");
        assert!(keys.open(&mut bad, 1, false, Some(654_360_564)).is_none());
    }

    /// RFC 8439 §2.3 block function written out, the reference for the mask below.
    fn chacha20_block(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> [u8; 64] {
        let word = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap());
        let mut s = [0u32; 16];
        s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..8 {
            s[4 + i] = word(&key[4 * i..4 * i + 4]);
        }
        s[12] = counter;
        for i in 0..3 {
            s[13 + i] = word(&nonce[4 * i..4 * i + 4]);
        }
        let mut x = s;
        let qr = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(16);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(12);
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(8);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(7);
        };
        for _ in 0..10 {
            qr(&mut x, 0, 4, 8, 12);
            qr(&mut x, 1, 5, 9, 13);
            qr(&mut x, 2, 6, 10, 14);
            qr(&mut x, 3, 7, 11, 15);
            qr(&mut x, 0, 5, 10, 15);
            qr(&mut x, 1, 6, 11, 12);
            qr(&mut x, 2, 7, 8, 13);
            qr(&mut x, 3, 4, 9, 14);
        }
        let mut out = [0u8; 64];
        for i in 0..16 {
            out[4 * i..4 * i + 4].copy_from_slice(&x[i].wrapping_add(s[i]).to_le_bytes());
        }
        out
    }

    /// Header protection takes the block counter from the sample: every value is allowed, the
    /// last one (0xffffffff) included, which the stream wrapper refuses (found by the
    /// quic_decrypt fuzz target as a panic).
    #[test]
    fn chacha_mask_at_every_counter() {
        let key = [0x5au8; 32];
        let nonce = [7u8; 12];
        for counter in [0u32, 1, 0x8000_0000, 0xffff_fffe, 0xffff_ffff] {
            let mut sample = counter.to_le_bytes().to_vec();
            sample.extend_from_slice(&nonce);
            let mask = Hp::ChaCha(key).mask(&sample).unwrap();
            assert_eq!(mask[..], chacha20_block(&key, counter, &nonce)[..5], "{counter:#x}");
        }
    }
}
