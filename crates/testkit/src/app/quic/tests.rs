use super::vectors::{
    A2_CRYPTO_FRAME, A2_PN, A3_FRAMES_BEFORE_HELLO, A3_HEADER, A3_PROTECTED, A3_SERVER_HELLO, DCID,
    V1_PROTECTED, V2_PROTECTED,
};
use super::*;
use crate::{hex, to_hex};

#[test]
fn rfc9001_a1_key_derivation() {
    assert_eq!(
        to_hex(&initial_secret(QuicVersion::V1, &DCID)),
        "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44"
    );
    let c = client_initial_keys(QuicVersion::V1, &DCID);
    assert_eq!(to_hex(&c.key), "1f369613dd76d5467730efcbe3b1a22d");
    assert_eq!(to_hex(&c.iv), "fa044b2f42a3fd3b46fb255c");
    assert_eq!(to_hex(&c.hp), "9f50449e04a0e810283a1e9933adedd2");
    let s = server_initial_keys(QuicVersion::V1, &DCID);
    assert_eq!(to_hex(&s.key), "cf3a5331653c364c88f0f379b6067e37");
    assert_eq!(to_hex(&s.iv), "0ac1493ca1905853b0bba03e");
    assert_eq!(to_hex(&s.hp), "c206b8d9b9f0f37644430b490eeaa314");
}

#[test]
fn rfc9369_a1_key_derivation() {
    let c = client_initial_keys(QuicVersion::V2, &DCID);
    assert_eq!(to_hex(&c.key), "8b1a0bc121284290a29e0971b5cd045d");
    assert_eq!(to_hex(&c.iv), "91f73e2351d8fa91660e909f");
    assert_eq!(to_hex(&c.hp), "45b95e15235d6f45a6b19cbcb0294ba9");
    let s = server_initial_keys(QuicVersion::V2, &DCID);
    assert_eq!(to_hex(&s.key), "82db637861d55e1d011f19ea71d5d2a7");
    assert_eq!(to_hex(&s.iv), "dd13c276499c0249d3310652");
    assert_eq!(to_hex(&s.hp), "edf6d05c83121201b436e16877593c3a");
}

fn rfc_initial(version: QuicVersion) -> Vec<u8> {
    let mut ci = ClientInitial::new(version, &DCID, &[]);
    ci.packet_number = A2_PN.into();
    ci.pn_len = 4;
    ci.packet(&hex(A2_CRYPTO_FRAME))
}

#[test]
fn rfc9001_a2_client_initial_byte_for_byte() {
    let p = rfc_initial(QuicVersion::V1);
    assert_eq!(p.len(), 1200);
    assert_eq!(to_hex(&p), to_hex(&hex(V1_PROTECTED)));
    let o = open_initial(&p, false).unwrap();
    assert_eq!((o.version, o.packet_number, o.first_byte), (1, 2, 0xc3));
    assert_eq!(o.payload.len(), 1162);
    assert_eq!(&o.payload[..245], &hex(A2_CRYPTO_FRAME)[..]);
    assert!(o.payload[245..].iter().all(|&b| b == 0));
}

#[test]
fn rfc9369_a2_client_initial_byte_for_byte() {
    let p = rfc_initial(QuicVersion::V2);
    assert_eq!(to_hex(&p), to_hex(&hex(V2_PROTECTED)));
    let o = open_initial(&p, false).unwrap();
    assert_eq!((o.version, o.first_byte), (0x6b33_43cf, 0xd3));
}

#[test]
fn rfc9001_a3_server_initial() {
    let header = hex(A3_HEADER);
    let payload = [hex(A3_FRAMES_BEFORE_HELLO), hex(A3_SERVER_HELLO)].concat();
    let keys = server_initial_keys(QuicVersion::V1, &DCID);
    let p = protect(&keys, &header, 2, 1, &payload);
    assert_eq!(to_hex(&p), to_hex(&hex(A3_PROTECTED)));
    let o = open_initial_with(&p, true, &DCID).unwrap();
    assert_eq!(o.payload, payload);
    assert_eq!(o.scid, hex("f067a5502a4262b5"));
}

#[test]
fn client_initial_carries_sni_and_splits() {
    for v in [QuicVersion::V1, QuicVersion::V2] {
        let d = client_initial(v, &[9; 8], &[3; 5], "quic.tracker.example", &["h3"]);
        assert_eq!(d.len(), 1200);
        assert_eq!(d[0] & 0xf0, 0xc0 | (v.initial_type_bits() << 4));
        let o = open_initial(&d, false).unwrap();
        assert_eq!(o.version, v.wire());
        assert_eq!(o.scid, [3; 5]);
        // CRYPTO frame at offset 0 holding a ClientHello with the SNI.
        let mut at = 1;
        assert_eq!(o.payload[0], 6);
        assert_eq!(read_varint(&o.payload, &mut at), Some(0));
        let len = read_varint(&o.payload, &mut at).unwrap() as usize;
        let ch = &o.payload[at..at + len];
        assert_eq!(ch[0], 1);
        assert!(ch.windows(20).any(|w| w == b"quic.tracker.example"));
        assert!(o.payload[at + len..].iter().all(|&b| b == 0), "PADDING");
        // Wrong keys do not open it.
        assert!(open_initial(&d, true).is_none());
    }
    let ch =
        ClientHello::quic("split.example", &["h3"], transport_parameters(&[1])).handshake_bytes();
    let ci = ClientInitial::new(QuicVersion::V1, &[5; 8], &[1]);
    let ds = ci.datagrams(&ch, 100);
    assert_eq!(ds.len(), ch.len().div_ceil(100));
    let mut joined = Vec::new();
    for (i, d) in ds.iter().enumerate() {
        let o = open_initial(d, false).unwrap();
        assert_eq!(o.packet_number, i as u64);
        let mut at = 1;
        assert_eq!(read_varint(&o.payload, &mut at), Some(joined.len() as u64));
        let n = read_varint(&o.payload, &mut at).unwrap() as usize;
        joined.extend_from_slice(&o.payload[at..at + n]);
    }
    assert_eq!(joined, ch);
}

#[test]
fn varints() {
    for (v, enc) in [
        (37u64, "25"),
        (15293, "7bbd"),
        (494_878_333, "9d7f3e7d"),
        (151_288_809_941_952_652, "c2197c5eff14e88c"),
    ] {
        let mut out = Vec::new();
        write_varint(v, &mut out);
        assert_eq!(to_hex(&out), enc);
        assert_eq!(varint_len(v), out.len());
        let mut at = 0;
        assert_eq!(read_varint(&out, &mut at), Some(v));
    }
}
