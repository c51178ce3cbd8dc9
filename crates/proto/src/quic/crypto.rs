//! Initial packet protection (RFC 9001 §5, RFC 9369 §3.3): key derivation from the client's
//! Destination Connection ID, header protection (AES-128-ECB on a sample), AEAD_AES_128_GCM.

use std::ops::Range;

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;

use super::packet::VersionInfo;
use crate::tls::decrypt::cipher::{AeadAlg, AeadKey};

/// AEAD tag length of AEAD_AES_128_GCM.
pub(crate) const TAG_LEN: usize = 16;
/// Header-protection sample length.
const SAMPLE_LEN: usize = 16;
/// The sample starts this far after the packet-number offset (RFC 9001 §5.4.2).
const SAMPLE_OFFSET: usize = 4;

/// Client Initial keys of one connection.
#[derive(Debug)]
pub(crate) struct InitialKeys {
    aead: AeadKey,
    iv: [u8; 12],
    hp: Aes128,
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> Option<()> {
    const PREFIX: &[u8] = b"tls13 ";
    let mut info = Vec::with_capacity(4 + PREFIX.len() + label.len());
    info.extend_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info.push(u8::try_from(PREFIX.len() + label.len()).ok()?);
    info.extend_from_slice(PREFIX);
    info.extend_from_slice(label);
    info.push(0);
    prk.expand(&info, out).ok()
}

impl InitialKeys {
    /// Derives the client Initial keys from the client's first Destination Connection ID.
    pub(crate) fn client(version: VersionInfo, dcid: &[u8]) -> Option<Self> {
        let initial = Hkdf::<Sha256>::new(Some(version.salt), dcid);
        let mut secret = [0u8; 32];
        expand_label(&initial, b"client in", &mut secret)?;
        let prk = Hkdf::<Sha256>::from_prk(&secret).ok()?;
        let (key_label, iv_label, hp_label): (&[u8], &[u8], &[u8]) = if version.v2 {
            (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
        } else {
            (b"quic key", b"quic iv", b"quic hp")
        };
        let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
        expand_label(&prk, key_label, &mut key)?;
        expand_label(&prk, iv_label, &mut iv)?;
        expand_label(&prk, hp_label, &mut hp)?;
        Some(Self {
            aead: AeadKey::new(AeadAlg::Aes128Gcm, &key)?,
            iv,
            hp: Aes128::new(&Array::from(hp)),
        })
    }

    /// Header-protection mask from the 16-byte sample.
    fn mask(&self, sample: &[u8]) -> Option<[u8; 16]> {
        let mut block = Array::try_from(sample).ok()?;
        self.hp.encrypt_block(&mut block);
        Some(block.into())
    }

    fn nonce(&self, pn: u64) -> [u8; 12] {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        nonce
    }

    /// Removes header protection from the long-header packet `pkt` (exactly one packet) and
    /// decrypts it into `buf`. Returns the packet number and where the plaintext frames are in
    /// `buf`; `None` if the packet is too short or the AEAD tag does not verify.
    pub(crate) fn open(
        &self,
        pkt: &[u8],
        pn_offset: usize,
        largest_pn: Option<u64>,
        buf: &mut Vec<u8>,
    ) -> Option<(u64, Range<usize>)> {
        let sample_at = pn_offset.checked_add(SAMPLE_OFFSET)?;
        let mask = self.mask(pkt.get(sample_at..sample_at.checked_add(SAMPLE_LEN)?)?)?;
        buf.clear();
        buf.extend_from_slice(pkt);
        let first = buf.first_mut()?;
        *first ^= mask[0] & 0x0f;
        let pn_len = usize::from(*first & 0x03) + 1;
        let pn_bytes = buf.get_mut(pn_offset..pn_offset + pn_len)?;
        let mut truncated = 0u64;
        for (b, m) in pn_bytes.iter_mut().zip(&mask[1..]) {
            *b ^= m;
            truncated = truncated << 8 | u64::from(*b);
        }
        let pn = decode_packet_number(largest_pn, truncated, pn_len * 8);
        let payload_start = pn_offset + pn_len;
        let tag_start = buf.len().checked_sub(TAG_LEN).filter(|&t| t >= payload_start)?;
        let (aad, rest) = buf.split_at_mut(payload_start);
        self.aead.open(&self.nonce(pn), aad, rest)?;
        Some((pn, payload_start..tag_start))
    }

    /// Encrypts and protects a packet: `packet` holds the header (packet number at `pn_offset`,
    /// `pn_len` bytes) followed by the plaintext payload; the tag is appended.
    pub(crate) fn seal(
        &self,
        packet: &mut Vec<u8>,
        pn_offset: usize,
        pn_len: usize,
        pn: u64,
    ) -> Option<()> {
        let payload_start = pn_offset + pn_len;
        let (aad, payload) = packet.split_at_checked(payload_start)?;
        let mut sealed = payload.to_vec();
        self.aead.seal(&self.nonce(pn), aad, &mut sealed)?;
        packet.truncate(payload_start);
        packet.extend_from_slice(&sealed);
        let sample_at = pn_offset + SAMPLE_OFFSET;
        let mask = self.mask(packet.get(sample_at..sample_at + SAMPLE_LEN)?)?;
        packet[0] ^= mask[0] & 0x0f;
        for (b, m) in packet[pn_offset..payload_start].iter_mut().zip(&mask[1..]) {
            *b ^= m;
        }
        Some(())
    }
}

/// Recovers a full packet number from its truncated encoding (RFC 9000 Appendix A.3).
pub(crate) fn decode_packet_number(largest: Option<u64>, truncated: u64, bits: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62).saturating_sub(win) {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}
