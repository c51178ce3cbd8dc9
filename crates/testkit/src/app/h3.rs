//! HTTP/3 over QUIC 1-RTT packets, deterministic (for tests, the demo and the accuracy matrix):
//! HTTP/3 frames (RFC 9114), QPACK field sections of literals (no dynamic table), and a client/
//! server pair of 1-RTT packet streams protected with AES-128-GCM keys derived from fixed traffic
//! secrets, which go into the NSS key log under the ClientHello's random. By default the QUIC
//! handshake has no Handshake packets (what a passive decryptor needs is the client Initial's
//! ClientHello, its random, the connection ids in long headers, and the 1-RTT secrets);
//! [`QuicOptions::handshake_alpn`] adds them, with the server's EncryptedExtensions choosing the
//! protocol, and the streams then carry HTTP/3 or raw bytes. A client key update (RFC 9001 §6)
//! can be made before any request.

use super::h2::hpack_int;
use super::quic::{self, InitialKeys, QuicVersion, hkdf_expand_label, protect, write_varint};
use super::tls::ClientHello;

/// An HTTP/3 frame.
pub fn frame(typ: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 8);
    write_varint(typ, &mut f);
    write_varint(payload.len() as u64, &mut f);
    f.extend_from_slice(payload);
    f
}

/// A QPACK field section (Required Insert Count 0) of literal field lines with literal names.
pub fn qpack_literals(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = vec![0, 0];
    for (n, v) in fields {
        hpack_int(&mut b, 0x20, 3, n.len());
        b.extend_from_slice(n.as_bytes());
        hpack_int(&mut b, 0, 7, v.len());
        b.extend_from_slice(v.as_bytes());
    }
    b
}

/// A request's frames: HEADERS (pseudo-header fields first) and, with a body, DATA.
pub fn request(
    method: &str,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut fields =
        vec![(":method", method), (":scheme", "https"), (":authority", authority), (":path", path)];
    fields.extend_from_slice(headers);
    let mut out = frame(0x01, &qpack_literals(&fields));
    if !body.is_empty() {
        out.extend(frame(0x00, body));
    }
    out
}

/// A response's frames.
pub fn response(status: u16, body: &[u8]) -> Vec<u8> {
    let s = status.to_string();
    let mut out = frame(0x01, &qpack_literals(&[(":status", &s)]));
    if !body.is_empty() {
        out.extend(frame(0x00, body));
    }
    out
}

/// A STREAM frame with offset and length (and FIN).
pub fn stream_frame(id: u64, offset: u64, data: &[u8], fin: bool) -> Vec<u8> {
    let mut f = vec![0x0e | u8::from(fin)];
    write_varint(id, &mut f);
    write_varint(offset, &mut f);
    write_varint(data.len() as u64, &mut f);
    f.extend_from_slice(data);
    f
}

/// One side's 1-RTT keys from its traffic secret (SHA-256, AES-128-GCM).
fn keys(version: QuicVersion, secret: &[u8]) -> InitialKeys {
    let (kl, il, hl) = version.labels();
    let mut k = InitialKeys { key: [0; 16], iv: [0; 12], hp: [0; 16] };
    k.key.copy_from_slice(&hkdf_expand_label(secret, kl, &[], 16));
    k.iv.copy_from_slice(&hkdf_expand_label(secret, il, &[], 12));
    k.hp.copy_from_slice(&hkdf_expand_label(secret, hl, &[], 16));
    k
}

/// A QUIC connection carrying HTTP/3, as datagrams with their sender (`true`: client).
#[derive(Debug, Clone)]
pub struct H3Connection {
    /// Datagrams in order: (from the client, bytes).
    pub datagrams: Vec<(bool, Vec<u8>)>,
    /// The key log lines of the connection.
    pub keylog: String,
}

impl H3Connection {
    /// Lays the datagrams on a UDP conversation, each from its side.
    pub fn lay_on(&self, udp: &mut crate::UdpConversation) {
        for (from_client, d) in &self.datagrams {
            if *from_client {
                udp.client_datagram(d);
            } else {
                udp.server_datagram(d);
            }
        }
    }
}

/// A client opens a QUIC v1 connection to `sni` and sends `requests` on bidirectional streams
/// 0, 4, 8...; the server answers each with 200 and `ok`. The client's control stream (2) has a
/// SETTINGS frame. `key_update`: the client moves to its next 1-RTT keys after the first request.
/// `seed` makes the secrets and connection ids differ between connections.
pub fn connection(sni: &str, requests: &[Vec<u8>], key_update: bool, seed: u8) -> H3Connection {
    connection_version(QuicVersion::V1, sni, requests, key_update, seed)
}

/// [`connection`] with QUIC version `v` (v2 has its own labels, key-update label included).
pub fn connection_version(
    v: QuicVersion,
    sni: &str,
    requests: &[Vec<u8>],
    key_update: bool,
    seed: u8,
) -> H3Connection {
    let opts = QuicOptions { version: v, key_update, seed, ..QuicOptions::default() };
    connection_with(sni, requests, &opts)
}

/// How [`connection_with`] makes a connection.
#[derive(Debug, Clone)]
pub struct QuicOptions<'a> {
    /// QUIC version.
    pub version: QuicVersion,
    /// The client moves to its next 1-RTT keys after the first stream.
    pub key_update: bool,
    /// Makes secrets and connection ids differ between connections.
    pub seed: u8,
    /// The client's ALPN offer.
    pub offer: &'a [&'a str],
    /// With `Some(alpn)`, the handshake is in Handshake packets: the server's flight
    /// (EncryptedExtensions choosing `alpn`, a Certificate long enough to span packets,
    /// CertificateVerify, Finished) in two CRYPTO frames sent second half first, and the
    /// client's Finished; the handshake secrets go into the key log. `None`: no Handshake
    /// packets, as a capture whose key log lacks them.
    pub handshake_alpn: Option<&'a str>,
}

impl Default for QuicOptions<'_> {
    fn default() -> Self {
        Self {
            version: QuicVersion::V1,
            key_update: false,
            seed: 0,
            offer: &["h3"],
            handshake_alpn: None,
        }
    }
}

/// A long-header Handshake packet (2-byte packet number) carrying `frames`.
fn handshake_packet(
    v: QuicVersion,
    dcid: &[u8],
    scid: &[u8],
    keys: &InitialKeys,
    pn: u64,
    frames: &[u8],
) -> Vec<u8> {
    let type_bits = if v == QuicVersion::V2 { 3 } else { 2 };
    let mut h = vec![0xc0 | type_bits << 4 | 0x01];
    h.extend_from_slice(&v.wire().to_be_bytes());
    h.push(dcid.len() as u8);
    h.extend_from_slice(dcid);
    h.push(scid.len() as u8);
    h.extend_from_slice(scid);
    let mut payload = frames.to_vec();
    payload.resize(payload.len().max(4), 0);
    let length = 2 + payload.len() + 16;
    assert!(length < 16_384, "Handshake packet too long");
    h.extend_from_slice(&(0x4000 | length as u16).to_be_bytes());
    h.extend_from_slice(&(pn as u16).to_be_bytes());
    protect(keys, &h, 2, pn, &payload)
}

/// A TLS handshake message.
fn hs_message(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// The server's handshake flight choosing `alpn`.
fn server_flight(alpn: &str) -> Vec<u8> {
    let mut list = vec![alpn.len() as u8];
    list.extend_from_slice(alpn.as_bytes());
    let mut ext = vec![0, 16];
    ext.extend_from_slice(&(list.len() as u16 + 2).to_be_bytes());
    ext.extend_from_slice(&(list.len() as u16).to_be_bytes());
    ext.extend_from_slice(&list);
    let mut ee = (ext.len() as u16).to_be_bytes().to_vec();
    ee.extend_from_slice(&ext);
    let mut flight = hs_message(8, &ee);
    flight.extend(hs_message(11, &[0x30; 2500])); // Certificate: not read, only skipped
    flight.extend(hs_message(15, &[0x04, 0x03, 0, 4, 1, 2, 3, 4]));
    flight.extend(hs_message(20, &[0x5f; 32]));
    flight
}

/// A QUIC connection as [`QuicOptions`] says, carrying `streams` on bidirectional streams 0, 4,
/// 8...: HTTP/3 requests (answered 200 `ok`, after the client's control stream) when the chosen
/// protocol (else the first offered) is `h3`, otherwise raw bytes (answered `OK\n`).
pub fn connection_with(sni: &str, streams: &[Vec<u8>], opts: &QuicOptions<'_>) -> H3Connection {
    let (v, seed, key_update) = (opts.version, opts.seed, opts.key_update);
    let h3 = opts.handshake_alpn.or(opts.offer.first().copied()) == Some("h3");
    let (dcid, cscid, sscid) = ([seed; 8], [seed ^ 0x5a; 8], [seed ^ 0xa5; 8]);
    let mut ch = ClientHello::quic(sni, opts.offer, quic::transport_parameters(&cscid));
    ch.random = [seed.wrapping_add(0x42); 32];
    ch.random[0] = 0x48; // 'H'
    let random = ch.random;
    let mut crypto = Vec::new();
    quic::crypto_frame(0, &ch.handshake_bytes(), &mut crypto);
    let initial = quic::ClientInitial::new(v, &dcid, &cscid).packet(&crypto);
    // The server's Initial: only its header matters here (its SCID).
    let mut server_initial = quic::ClientInitial::new(v, &cscid, &sscid).packet(&[0x01]);
    let (csec, ssec) = ([seed ^ 0x11; 32], [seed ^ 0x22; 32]);
    let (chs, shs) = ([seed ^ 0x33; 32], [seed ^ 0x44; 32]);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut keylog = String::new();
    if opts.handshake_alpn.is_some() {
        keylog = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {c}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {r} {s}\n",
            r = hex(&random),
            c = hex(&chs),
            s = hex(&shs)
        );
    }
    keylog += &format!(
        "CLIENT_TRAFFIC_SECRET_0 {r} {c}\nSERVER_TRAFFIC_SECRET_0 {r} {s}\n",
        r = hex(&random),
        c = hex(&csec),
        s = hex(&ssec)
    );
    let mut datagrams = vec![(true, initial)];
    if let Some(alpn) = opts.handshake_alpn {
        let flight = server_flight(alpn);
        let half = flight.len() / 2;
        let (mut f0, mut f1, mut fin) = (Vec::new(), Vec::new(), Vec::new());
        quic::crypto_frame(0, &flight[..half], &mut f0);
        quic::crypto_frame(half as u64, &flight[half..], &mut f1);
        quic::crypto_frame(0, &hs_message(20, &[0x6e; 32]), &mut fin);
        let (sk, ck) = (keys(v, &shs), keys(v, &chs));
        // The second half first, coalesced after the server's (unpadded) Initial; then the
        // first half.
        let mut si = quic::ClientInitial::new(v, &cscid, &sscid);
        si.min_datagram = 0;
        server_initial = si.packet(&[0x01]);
        server_initial.extend(handshake_packet(v, &cscid, &sscid, &sk, 1, &f1));
        datagrams.push((false, server_initial));
        datagrams.push((false, handshake_packet(v, &cscid, &sscid, &sk, 0, &f0)));
        datagrams.push((true, handshake_packet(v, &sscid, &cscid, &ck, 0, &fin)));
    } else {
        datagrams.push((false, server_initial));
    }
    let mut ckeys = keys(v, &csec);
    let skeys = keys(v, &ssec);
    let mut phase = 0u8;
    let (mut cpn, mut spn) = (0u64, 0u64);
    let short = |dcid: &[u8], phase: u8, pn: u64, keys: &InitialKeys, frames: &[u8]| {
        let mut h = vec![0x40 | phase << 2 | 0x01]; // 2-byte packet number
        h.extend_from_slice(dcid);
        h.extend_from_slice(&(pn as u16).to_be_bytes());
        let mut payload = frames.to_vec();
        payload.resize(payload.len().max(4), 0);
        protect(keys, &h, 2, pn, &payload)
    };
    if h3 {
        let mut control = vec![0x00];
        control.extend(frame(0x04, &[0x01, 0x00, 0x06, 0x44, 0x00]));
        let c0 = stream_frame(2, 0, &control, false);
        datagrams.push((true, short(&sscid, phase, cpn, &ckeys, &c0)));
        cpn += 1;
    }
    for (i, req) in streams.iter().enumerate() {
        let id = 4 * i as u64;
        if key_update && i == 1 {
            let mut secret = csec.to_vec();
            let ku = if v == QuicVersion::V2 { "quicv2 ku" } else { "quic ku" };
            secret = hkdf_expand_label(&secret, ku, &[], 32);
            let next = keys(v, &secret);
            ckeys = InitialKeys { hp: ckeys.hp, ..next };
            phase ^= 1;
        }
        // The request in two packets of one datagram (coalesced 1-RTT packets are not allowed,
        // so: two datagrams), the second with FIN.
        let half = req.len() / 2;
        let p1 = short(&sscid, phase, cpn, &ckeys, &stream_frame(id, 0, &req[..half], false));
        let p2 = short(
            &sscid,
            phase,
            cpn + 1,
            &ckeys,
            &stream_frame(id, half as u64, &req[half..], true),
        );
        cpn += 2;
        // Out of order on the wire: the second half first.
        datagrams.push((true, p2));
        datagrams.push((true, p1));
        let resp = if h3 { response(200, b"ok") } else { b"OK\n".to_vec() };
        datagrams.push((false, short(&cscid, 0, spn, &skeys, &stream_frame(id, 0, &resp, true))));
        spn += 1;
    }
    H3Connection { datagrams, keylog }
}
