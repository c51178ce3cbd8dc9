//! Real TLS sessions for the decryption tests: a rustls client and server talk in memory, the
//! client's [`rustls::KeyLog`] writes the NSS key log (as `SSLKEYLOGFILE` would), and every byte
//! each side sends is kept in order as [`Flight`]s, ready to be laid on a TCP conversation.
//!
//! The server uses a fixed self-signed P-256 certificate made for these tests
//! (`data/test-cert.der`, CN `phonehome.test`); the client accepts any certificate, since what is
//! tested is the record protection, not the PKI. TLS 1.2 suites are therefore the ECDHE_ECDSA
//! ones (AES-128/256-GCM, ChaCha20-Poly1305); TLS 1.3 has all three of its suites.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, ServerConnection,
};

use crate::conversation::{Direction, TcpConversation};

const CERT: &[u8] = include_bytes!("../data/test-cert.der");
const KEY: &[u8] = include_bytes!("../data/test-key.pk8.der");

/// Bytes one side handed to TCP in one go.
pub type Flight = (Direction, Vec<u8>);

/// The key log lines rustls writes.
#[derive(Debug, Default, Clone)]
pub struct KeyLogLines(Arc<Mutex<String>>);

impl KeyLogLines {
    /// Everything logged so far, one line per secret.
    pub fn text(&self) -> String {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl rustls::KeyLog for KeyLogLines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        if let Ok(mut s) = self.0.lock() {
            s.push_str(&format!("{label} {} {}\n", hex(client_random), hex(secret)));
        }
    }
}

#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// How TLS 1.2 sessions may be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumption {
    /// Session tickets (RFC 5077) for TLS 1.2; TLS 1.3 PSKs always use tickets.
    Tickets,
    /// Session ids only (the server keeps a session cache, issues no tickets).
    SessionIds,
}

/// A client and a server configuration pair; sessions made from one pair share the client's
/// resumption store.
#[derive(Debug, Clone)]
pub struct TlsPair {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    keylog: KeyLogLines,
    sni: String,
}

/// One finished session.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// Bytes on the wire, in order.
    pub flights: Vec<Flight>,
    /// What the server application received.
    pub server_got: Vec<u8>,
    /// What the client application received.
    pub client_got: Vec<u8>,
}

/// The IANA id of a rustls suite we offer here, or `None`.
fn suite_by_id(id: u16) -> Option<rustls::SupportedCipherSuite> {
    use ring::cipher_suite as cs;
    [
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
    .into_iter()
    .find(|s| u16::from(s.suite()) == id)
}

impl TlsPair {
    /// A pair that speaks only cipher suite `suite` (IANA id: `0x1301`-`0x1303`, `0xc02b`,
    /// `0xc02c`, `0xcca9`), with ALPN protocols `alpn` and server name `sni`.
    ///
    /// # Panics
    /// On a suite not listed above (a test bug).
    pub fn new(suite: u16, alpn: &[&str], sni: &str, resumption: Resumption) -> Self {
        let s = suite_by_id(suite).expect("suite offered by testkit::tls_session");
        // The post-quantum key exchange the deprecation note is about changes nothing in the
        // record protection these sessions exist to test.
        #[allow(deprecated)]
        let mut provider = ring::default_provider();
        provider.cipher_suites = vec![s];
        let provider = Arc::new(provider);
        let versions: &[&rustls::SupportedProtocolVersion] = if suite >> 8 == 0x13 {
            &[&rustls::version::TLS13]
        } else {
            &[&rustls::version::TLS12]
        };
        let keylog = KeyLogLines::default();
        let mut client = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .expect("versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider.clone())))
            .with_no_client_auth();
        client.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
        client.key_log = Arc::new(keylog.clone());
        client.enable_early_data = true;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(KEY.to_vec()));
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(CERT.to_vec())], key)
            .expect("test certificate");
        server.alpn_protocols = client.alpn_protocols.clone();
        server.max_early_data_size = 16_384;
        if resumption == Resumption::Tickets {
            server.ticketer = ring::Ticketer::new().expect("ticketer");
        }
        Self { client: Arc::new(client), server: Arc::new(server), keylog, sni: sni.into() }
    }

    /// The key log as `SSLKEYLOGFILE` would hold it after the sessions so far.
    pub fn keylog(&self) -> String {
        self.keylog.text()
    }

    /// Runs one session: the handshake, then each `(request, response)` exchange (with a
    /// KeyUpdate from both sides before exchange `key_update_before`, if given), then the client's
    /// close_notify.
    ///
    /// # Panics
    /// When rustls reports an error (a test bug).
    pub fn session(
        &self,
        exchanges: &[(Vec<u8>, Vec<u8>)],
        key_update_before: Option<usize>,
    ) -> Transcript {
        self.session_to(&self.sni, exchanges, key_update_before)
    }

    /// A TLS 1.3 session that sends `early` as 0-RTT data (it needs a ticket from an earlier
    /// session of this pair), then the exchanges. Returns the transcript and whether the server
    /// accepted the early data.
    ///
    /// # Panics
    /// As [`Self::session`].
    pub fn session_early(
        &self,
        early: &[u8],
        exchanges: &[(Vec<u8>, Vec<u8>)],
    ) -> (Transcript, bool) {
        let name = ServerName::try_from(self.sni.clone()).expect("server name");
        let mut c = ClientConnection::new(self.client.clone(), name).expect("client");
        let mut s = ServerConnection::new(self.server.clone()).expect("server");
        let mut t = Transcript::default();
        if let Some(mut e) = c.early_data() {
            e.write_all(early).expect("early data");
        }
        pump(&mut c, &mut s, &mut t);
        if let Some(mut r) = s.early_data() {
            read_all(&mut r, &mut t.server_got);
        }
        let accepted = c.is_early_data_accepted();
        for (req, resp) in exchanges {
            c.writer().write_all(req).expect("client write");
            pump(&mut c, &mut s, &mut t);
            read_all(&mut s.reader(), &mut t.server_got);
            s.writer().write_all(resp).expect("server write");
            pump(&mut c, &mut s, &mut t);
            read_all(&mut c.reader(), &mut t.client_got);
        }
        c.send_close_notify();
        pump(&mut c, &mut s, &mut t);
        (t, accepted)
    }

    /// [`Self::session`] with another server name.
    ///
    /// # Panics
    /// As [`Self::session`].
    pub fn session_to(
        &self,
        sni: &str,
        exchanges: &[(Vec<u8>, Vec<u8>)],
        key_update_before: Option<usize>,
    ) -> Transcript {
        let name = ServerName::try_from(sni.to_string()).expect("server name");
        let mut c = ClientConnection::new(self.client.clone(), name).expect("client");
        let mut s = ServerConnection::new(self.server.clone()).expect("server");
        let mut t = Transcript::default();
        pump(&mut c, &mut s, &mut t);
        for (i, (req, resp)) in exchanges.iter().enumerate() {
            if key_update_before == Some(i) {
                c.refresh_traffic_keys().expect("client key update");
                s.refresh_traffic_keys().expect("server key update");
                pump(&mut c, &mut s, &mut t);
            }
            // In pieces: rustls buffers at most 64 KiB of plaintext before it is sent.
            for piece in req.chunks(16_384) {
                c.writer().write_all(piece).expect("client write");
                pump(&mut c, &mut s, &mut t);
                read_all(&mut s.reader(), &mut t.server_got);
            }
            for piece in resp.chunks(16_384) {
                s.writer().write_all(piece).expect("server write");
                pump(&mut c, &mut s, &mut t);
                read_all(&mut c.reader(), &mut t.client_got);
            }
        }
        c.send_close_notify();
        pump(&mut c, &mut s, &mut t);
        t
    }
}

fn read_all(r: &mut impl Read, out: &mut Vec<u8>) {
    let mut buf = [0u8; 16384];
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Moves what `from` has to send into `to`, recording it as flights of `dir`; true if anything
/// moved.
fn send<A, B, DA, DB>(from: &mut A, to: &mut B, dir: Direction, t: &mut Transcript) -> bool
where
    A: std::ops::DerefMut<Target = rustls::ConnectionCommon<DA>>,
    B: std::ops::DerefMut<Target = rustls::ConnectionCommon<DB>>,
    DB: rustls::SideData,
{
    let mut moved = false;
    while from.wants_write() {
        let mut b = Vec::new();
        from.write_tls(&mut b).expect("write_tls");
        if b.is_empty() {
            break;
        }
        let mut rd = &b[..];
        while !rd.is_empty() {
            to.read_tls(&mut rd).expect("read_tls");
            to.process_new_packets().expect("process_new_packets");
        }
        t.flights.push((dir, b));
        moved = true;
    }
    moved
}

/// Moves bytes both ways until neither side has anything to send.
fn pump(c: &mut ClientConnection, s: &mut ServerConnection, t: &mut Transcript) {
    while send(c, s, Direction::ClientToServer, t) | send(s, c, Direction::ServerToClient, t) {}
}

impl Transcript {
    /// Lays the flights on a TCP conversation (after its handshake), each cut into segments of
    /// at most `segment` bytes, and closes it with FINs.
    pub fn lay_on(&self, tcp: &mut TcpConversation, segment: usize) {
        for (dir, bytes) in &self.flights {
            let cuts: Vec<usize> =
                (1..bytes.len().div_ceil(segment.max(1))).map(|i| i * segment.max(1)).collect();
            tcp.send_split(*dir, bytes, &cuts);
        }
        tcp.fin();
    }
}

/// A phone's HTTPS traffic with the key log that opens it (see [`keyed_https`]).
#[derive(Debug, Clone)]
pub struct KeyedCapture {
    /// Timestamped Ethernet frames, in capture order.
    pub frames: Vec<crate::Frame>,
    /// The NSS key log of every session but the last (whose keys were "not captured").
    pub keylog: String,
}

impl KeyedCapture {
    /// A classic pcap of the frames (the key log goes beside it).
    pub fn pcap(&self) -> Vec<u8> {
        let mut w = crate::PcapWriter::new(Vec::new(), crate::Link::ethernet().link_type())
            .expect("pcap header");
        w.write_frames(&self.frames).expect("frames");
        w.finish().expect("finish")
    }

    /// A pcapng with the key log in a Decryption Secrets Block before the first packet, as
    /// `editcap --inject-secrets tls,keys.txt` and PCAPdroid write it.
    pub fn pcapng_with_secrets(&self) -> Vec<u8> {
        let mut w = crate::PcapNgWriter::new(Vec::new()).expect("section");
        let link = crate::Link::ethernet().link_type() as u16;
        let id = w.add_interface(link, 0, Some(9)).expect("interface");
        let mut body = 0x544c_534bu32.to_le_bytes().to_vec();
        body.extend_from_slice(&(self.keylog.len() as u32).to_le_bytes());
        body.extend_from_slice(self.keylog.as_bytes());
        w.write_block(10, &body).expect("secrets block");
        w.write_frames(id, &self.frames).expect("frames");
        w.finish().expect("finish")
    }
}

/// The identifiers planted by [`keyed_https`].
pub mod planted {
    /// IMEI, sent in a JSON body over TLS 1.3 + HTTP/1.1 and as a header over HTTP/2.
    pub const IMEI: &str = "865123045678905";
    /// IMSI, sent in a query string over TLS 1.2.
    pub const IMSI: &str = "466920123456789";
    /// Phone number, base64 of its E.164 form in the JSON body.
    pub const PHONE: &str = "+886912345678";
    /// Advertising ID, sent to the host whose keys are missing (must not be found).
    pub const ADVERTISING_ID: &str = "38400000-8cf0-11bd-b23e-10b96e4ef00d";
}

/// The 2014 Redmi story after the vendor's "fix": the same identifiers inside HTTPS. A phone
/// (10.0.0.2) opens four TLS connections, made by rustls:
/// 1. TLS 1.3 AES-128-GCM, HTTP/1.1, to `api.account.xiaomi.com`: a JSON body with the IMEI and
///    the base64 phone number;
/// 2. TLS 1.3 AES-256-GCM, HTTP/2, to `data.mistat.xiaomi.com`: the IMEI in an `x-device-id`
///    header and the IMSI in a form body, with a KeyUpdate before the second request;
/// 3. TLS 1.2 ECDHE-ECDSA ChaCha20-Poly1305, HTTP/1.1, to `tracking.ad-network.example`: the
///    IMSI in a query string;
/// 4. TLS 1.3 to `sdk.no-keys.example` with the advertising ID: its keys are left out of the key
///    log, so nothing of it may be found;
/// 5. QUIC v1 + HTTP/3 to `tracking.miui.com`: the IMEI in a JSON body and the IMSI in a header,
///    a client key update before the second request (deterministic packets, `app::h3`).
pub fn keyed_https() -> KeyedCapture {
    use crate::app::h2::{self, H2Message};
    use planted::{ADVERTISING_ID, IMEI, IMSI, PHONE};
    let b64 = "Kzg4NjkxMjM0NTY3OA=="; // base64("+886912345678")
    debug_assert_eq!(PHONE.len(), 13);
    let http1 = |host: &str, method: &str, path: &str, ctype: &str, body: &str| {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Dalvik/1.6.0\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        [head.as_bytes(), body.as_bytes()].concat()
    };
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
    let mut frames = Vec::new();
    let mut keylog = String::new();
    let mut start = 1_700_000_000_000_000_000i64;
    let mut port = 41_000u16;
    let mut add = |pair: &TlsPair, t: &Transcript, server: [u8; 4], keep_keys: bool| {
        let mut tcp = crate::Conversation::tcp(
            std::net::SocketAddr::from(([10, 0, 0, 2], port)),
            std::net::SocketAddr::from((server, 443)),
        )
        .link(crate::Link::ethernet())
        .start_ns(start);
        tcp.handshake();
        t.lay_on(&mut tcp, 1400);
        start = tcp.next_ts_ns() + 50_000_000;
        port += 1;
        frames.extend(tcp.frames());
        if keep_keys {
            keylog.push_str(&pair.keylog());
        }
    };
    // 1. TLS 1.3 + HTTP/1.1
    let p = TlsPair::new(0x1301, &["http/1.1"], "api.account.xiaomi.com", Resumption::Tickets);
    let body = format!("{{\"imei\":\"{IMEI}\",\"phone\":\"{b64}\",\"model\":\"Redmi 1S\"}}");
    let req = http1("api.account.xiaomi.com", "POST", "/pass/activate", "application/json", &body);
    let t = p.session(&[(req, ok.clone())], None);
    add(&p, &t, [120, 92, 145, 56], true);
    // 2. TLS 1.3 + HTTP/2, KeyUpdate between the two requests
    let p = TlsPair::new(0x1302, &["h2"], "data.mistat.xiaomi.com", Resumption::Tickets);
    let r1 = H2Message::request(1, "POST", "data.mistat.xiaomi.com", "/mistats/v3")
        .header("x-device-id", IMEI)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("imsi={IMSI}&app=com.miui.home"));
    let r2 = H2Message::request(3, "GET", "data.mistat.xiaomi.com", "/config?v=2");
    let c1 = h2::client(std::slice::from_ref(&r1));
    let c2 = h2::message_frames(&r2, 16_384, 0);
    let s1 = h2::server(&[H2Message::response(1, 200).body("ok")]);
    let s2 = h2::message_frames(&H2Message::response(3, 204), 16_384, 0);
    let t = p.session(&[(c1, s1), (c2, s2)], Some(1));
    add(&p, &t, [120, 92, 145, 57], true);
    // 3. TLS 1.2 ChaCha20-Poly1305 + HTTP/1.1
    let p =
        TlsPair::new(0xcca9, &["http/1.1"], "tracking.ad-network.example", Resumption::SessionIds);
    let req = http1(
        "tracking.ad-network.example",
        "GET",
        &format!("/t?imsi={IMSI}&ev=open"),
        "text/plain",
        "",
    );
    let t = p.session(&[(req, ok.clone())], None);
    add(&p, &t, [203, 0, 113, 7], true);
    // 4. keys missing
    let p = TlsPair::new(0x1301, &["http/1.1"], "sdk.no-keys.example", Resumption::Tickets);
    let body = format!("{{\"gaid\":\"{ADVERTISING_ID}\"}}");
    let req = http1("sdk.no-keys.example", "POST", "/v1/event", "application/json", &body);
    let t = p.session(&[(req, ok)], None);
    add(&p, &t, [198, 51, 100, 9], false);
    // 5. QUIC + HTTP/3 (own deterministic packets; see `app::h3`), with a key update.
    let body = format!("{{\"imei\":\"{IMEI}\",\"ev\":\"app_open\"}}");
    let r1 = crate::app::h3::request(
        "POST",
        "tracking.miui.com",
        "/track/v4",
        &[("content-type", "application/json"), ("x-imsi", IMSI)],
        body.as_bytes(),
    );
    let r2 = crate::app::h3::request("GET", "tracking.miui.com", "/config", &[], b"");
    let q = crate::app::h3::connection("tracking.miui.com", &[r1, r2], true, 7);
    let mut udp = crate::Conversation::udp(
        std::net::SocketAddr::from(([10, 0, 0, 2], port)),
        std::net::SocketAddr::from(([120, 92, 145, 58], 443)),
    )
    .link(crate::Link::ethernet())
    .start_ns(start);
    q.lay_on(&mut udp);
    frames.extend(udp.frames());
    keylog.push_str(&q.keylog);
    KeyedCapture { frames, keylog }
}

/// A session made by OpenSSL through Python's `ssl` module (`scripts/openssl_tls.py`), for what
/// rustls does not speak: AES-CBC suites, encrypt-then-MAC on and off, TLS 1.0 and 1.1. `version`
/// is `1.0` to `1.3`, `ciphers` an OpenSSL cipher string (the ECDHE-ECDSA suites fit the test
/// certificate). Returns the transcript and the client's key log.
///
/// # Errors
/// Why no session could be made (no `python3`, an OpenSSL that refuses the version or suite):
/// callers skip with that message where the environment may lack it.
pub fn openssl_session(
    version: &str,
    ciphers: &str,
    etm: bool,
    exchanges: &[(Vec<u8>, Vec<u8>)],
) -> Result<(Transcript, String), String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(format!("{dir}scripts/openssl_tls.py"))
        .args([version, ciphers, if etm { "1" } else { "0" }])
        .arg(format!("{dir}data/test-cert.pem"))
        .arg(format!("{dir}data/test-key.pem"));
    for (a, b) in exchanges {
        cmd.arg(hex(a)).arg(hex(b));
    }
    let out = cmd.output().map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl_tls.py {version} {ciphers}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let unhex = |s: &str| -> Vec<u8> {
        (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
    };
    let mut t = Transcript::default();
    let mut keylog = String::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line.split_once(' ') {
            Some(("C", h)) => t.flights.push((Direction::ClientToServer, unhex(h))),
            Some(("S", h)) => t.flights.push((Direction::ServerToClient, unhex(h))),
            Some(("K", k)) => {
                keylog.push_str(k);
                keylog.push('\n');
            }
            _ => {}
        }
    }
    Ok((t, keylog))
}
