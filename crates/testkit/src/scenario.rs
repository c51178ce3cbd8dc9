//! Scripted captures that tell a story: the demo shipped in `examples/demo.pcapng`.
//!
//! [`redmi_2014`] replays, with synthetic traffic, what F-Secure and Taiwan's NCC reported in 2014
//! about the Xiaomi Redmi 1S: a phone that, right after booting, sends its IMEI, IMSI and phone
//! number in plaintext HTTP to Xiaomi's activation server and uploads the address book to the
//! cloud, next to the usual TLS and QUIC traffic to Xiaomi and Google.
//!
//! Every identifier is fake (the constants of this module), and CDN names use the reserved
//! `.example` top-level domain. Server addresses are real-world ones of the right kind, so that
//! with geo data (`scripts/geo-setup.sh`) the report tells the story's geography: Xiaomi's hosts in
//! 120.92.96.0/24 (Beijing Kingsoft Cloud, AS59019, CN, where Xiaomi's servers ran), Google's in
//! 142.250.196.0/24 (AS15169, US), the tracker at 104.21.55.150 (Cloudflare, US). No packet of
//! this capture was ever sent to them. The capture is
//! deterministic byte for byte: same code, same file (a test compares it with the committed
//! copy).
//!
//! What happens, in capture time (2014-08-10T09:00:00Z + seconds). Every connection is preceded
//! by its DNS lookup (UDP to the gateway's resolver, one source port per lookup):
//!
//! | t (s) | destination | what |
//! |---|---|---|
//! | 0.4 | `android.clients.google.com` (CNAME `android.l.google.com`) | TLS 1.2 check-in |
//! | 2.1 | `api.account.xiaomi.com` (2 CNAMEs, 2 A) | **plain HTTP** activation POST: IMEI in the query and the form body, IMSI, phone number; JSON reply. One spurious retransmission of the request. |
//! | 4.9 | `account.xiaomi.com` | TLS 1.2 session |
//! | 7.2 | `resolver.msg.xiaomi.net` | TLS 1.2 push channel, heartbeats until the end |
//! | 11.6 | `api.micloud.xiaomi.net` (CNAME) | **plain HTTP** address-book upload: 12 contacts, gzip + chunked JSON body, sent in 3 segments of which the last two arrive swapped |
//! | 16.3 | `www.googleapis.com` (CNAME `googleapis.l.google.com`) | TLS 1.2 session |
//! | 21.1 | `www.google.com` | QUIC v1 Initial (SNI, ALPN `h3`) and some opaque packets |
//! | 26.8 | `api.ad-tracker.example` (CNAME) | **plain HTTP** tracker GET: MD5 of the IMEI, SHA-1 of the Android ID, Wi-Fi MAC |
//! | 31.5 | `data.mistat.xiaomi.com` (CNAME) | TLS 1.2 statistics upload |

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::app::{dns, http, quic, tls};
use crate::conversation::{Conversation, Direction, TcpConversation, UdpConversation};
use crate::packet::{Link, Mac};
use crate::{Frame, MS, PcapNgWriter, Rng, SEC, US, linktype};

/// Time of the first packet: 2014-08-10T09:00:00Z, in nanoseconds since the Unix epoch.
pub const START_NS: i64 = 1_407_661_200 * SEC;
/// The phone's address on the test-lab Wi-Fi.
pub const PHONE_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 23);
/// The phone's Wi-Fi MAC: Xiaomi's registered prefix 64:09:80, the rest made up.
pub const PHONE_MAC: Mac = [0x64, 0x09, 0x80, 0x3a, 0x5c, 0x7e];
/// The access point / gateway, also the phone's DNS resolver (port 53).
pub const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
/// The gateway's MAC (TP-Link's prefix 14:cf:92, the rest made up).
pub const GATEWAY_MAC: Mac = [0x14, 0xcf, 0x92, 0x0b, 0x7e, 0x11];

/// The phone's IMEI (fake, with a valid Luhn check digit).
pub const IMEI: &str = "865123045678905";
/// The SIM's IMSI (fake; MCC 466 = Taiwan, MNC 92).
pub const IMSI: &str = "466920123456789";
/// The SIM's phone number (fake), E.164. Sent form-encoded as `%2B886912345678`.
pub const PHONE_NUMBER: &str = "+886912345678";
/// The phone's Android ID (fake, 64-bit hex).
pub const ANDROID_ID: &str = "3f2a9c41d07b8e65";
/// Lower-case hex MD5 of the ASCII [`IMEI`] (`printf %s 865123045678905 | md5sum`).
pub const IMEI_MD5: &str = "3bad3b65df7daa4992d3e986bc13cf9d";
/// Lower-case hex SHA-1 of the ASCII [`ANDROID_ID`] (`printf %s 3f2a9c41d07b8e65 | sha1sum`).
pub const ANDROID_ID_SHA1: &str = "056d1631ec44526cefd6f013b5c915998188d48a";
/// [`PHONE_MAC`] as the tracker sends it: lower-case hex, no separators.
pub const MAC_HEX: &str = "6409803a5c7e";
/// The Xiaomi account id the activation server answers with (fake).
pub const USER_ID: &str = "1523098765";

/// The address book uploaded in plaintext: (name, phone number as stored), all fake.
pub const CONTACTS: [(&str, &str); 12] = [
    ("陳怡君", "+886 987 654 321"),
    ("林志明", "+886 921 334 567"),
    ("張雅婷", "+886 933 210 876"),
    ("王建宏", "+886 910 765 432"),
    ("李淑芬", "+886 958 123 909"),
    ("黃冠宇", "0972-345-118"),
    ("吳佩珊", "+886 936 002 574"),
    ("劉家豪", "+886 966 841 230"),
    ("蔡宜庭", "0919-552-036"),
    ("楊宗翰", "+886 975 318 642"),
    ("媽媽", "+886 928 776 105"),
    ("Kevin Lee", "+886 988 415 273"),
];

/// Host of the plaintext activation POST.
pub const ACTIVATION_HOST: &str = "api.account.xiaomi.com";
/// Host of the plaintext address-book upload.
pub const CONTACTS_HOST: &str = "api.micloud.xiaomi.net";
/// Host of the plaintext tracker request.
pub const TRACKER_HOST: &str = "api.ad-tracker.example";

const UA: &str = "Dalvik/1.6.0 (Linux; U; Android 4.3; HM 1SW MIUI/JHCTWBH45.0)";
const DATE: &str = "Sun, 10 Aug 2014 09:00:";

/// The demo capture as pcapng bytes: one Ethernet interface with nanosecond timestamps
/// (`if_tsresol` 9). Deterministic.
pub fn redmi_2014() -> Vec<u8> {
    write_redmi_2014(Vec::with_capacity(160 * 1024)).expect("writing to a Vec")
}

/// Writes the demo capture (see [`redmi_2014`]) to `out` and returns it.
pub fn write_redmi_2014<W: Write>(out: W) -> io::Result<W> {
    let mut w = PcapNgWriter::new(out)?;
    w.add_interface_with_options(
        linktype::ETHERNET as u16,
        262_144,
        Some(9),
        &[(2, b"br-lan"), (3, b"test-lab Wi-Fi AP, bridged wireless clients")],
    )?;
    w.write_frames(0, &redmi_2014_frames())?;
    w.finish()
}

/// The frames of the demo capture, in time order (Ethernet, phone <-> gateway MACs).
pub fn redmi_2014_frames() -> Vec<Frame> {
    redmi_2014_frames_with(true)
}

/// [`redmi_2014_frames`], with the cloud service on (as in the demo) or off: then the address
/// book is not uploaded (no lookup of, nor connection to, [`CONTACTS_HOST`]). The rest is the
/// same traffic at the same times (its random parts drawn differently).
pub fn redmi_2014_frames_with(cloud: bool) -> Vec<Frame> {
    let mut b = Builder {
        rng: Rng::new(0x2014_0810),
        link: Link::Ethernet { src: PHONE_MAC, dst: GATEWAY_MAC, tags: Vec::new() },
        next_port: 38_211,
        lists: Vec::new(),
    };
    let at = |ms: i64| START_NS + ms * MS;
    let ip = |d: u8| Ipv4Addr::new(120, 92, 96, d);
    let gip = |d: u8| Ipv4Addr::new(142, 250, 196, d);
    let tracker_ip = Ipv4Addr::new(104, 21, 55, 150);

    // Google check-in.
    let t =
        b.lookup(at(412), "android.clients.google.com", &["android.l.google.com"], &[gip(46)], 300);
    let g = Tls {
        ttl: 56,
        latency: 4 * MS + 180 * US,
        alpn: &["http/1.1"],
        server_alpn: Some("http/1.1"),
    };
    let mut c = b.tls(t, gip(46), &g, "android.clients.google.com");
    b.tls_exchange(&mut c, 1_830, 3_214);
    b.tls_close(c);

    // Activation: IMEI, IMSI and phone number in plaintext.
    let t = b.lookup(
        at(2130),
        ACTIVATION_HOST,
        &["api-account.xiaomi.com.w.bj-cdn.example", "bj03.v.bj-cdn.example"],
        &[ip(17), ip(18)],
        600,
    );
    b.activation(t, ip(17));

    // Xiaomi account over TLS.
    let x = Tls { ttl: 47, latency: 31 * MS + 250 * US, alpn: &[], server_alpn: None };
    let t = b.lookup(at(4870), "account.xiaomi.com", &[], &[ip(30)], 600);
    let mut c = b.tls(t, ip(30), &x, "account.xiaomi.com");
    b.tls_exchange(&mut c, 712, 1_533);
    b.tls_close(c);

    // Push channel: stays open, heartbeats until the end of the capture.
    let t = b.lookup(at(7205), "resolver.msg.xiaomi.net", &[], &[ip(41)], 600);
    let mut push = b.tls(t, ip(41), &x, "resolver.msg.xiaomi.net");
    b.tls_exchange(&mut push, 245, 118);

    // Address book upload: gzip + chunked, one reordered segment.
    if cloud {
        let t = b.lookup(at(11_640), CONTACTS_HOST, &["micloud.w.bj-cdn.example"], &[ip(52)], 600);
        b.contacts(t, ip(52));
    }

    // Google APIs.
    let t =
        b.lookup(at(16_318), "www.googleapis.com", &["googleapis.l.google.com"], &[gip(95)], 300);
    let mut c = b.tls(t, gip(95), &g, "www.googleapis.com");
    b.tls_exchange(&mut c, 904, 6_020);
    b.tls_close(c);

    // QUIC v1 to www.google.com.
    let t = b.lookup(at(21_052), "www.google.com", &[], &[gip(100)], 300);
    b.quic(t, gip(100));

    // Tracker SDK: hashed identifiers in plaintext.
    let t = b.lookup(at(26_777), TRACKER_HOST, &["e7.tracker-edge.example"], &[tracker_ip], 120);
    b.tracker(t, tracker_ip);

    // Usage statistics.
    let t = b.lookup(
        at(31_494),
        "data.mistat.xiaomi.com",
        &["mistat.w.bj-cdn.example"],
        &[ip(66)],
        600,
    );
    let mut c = b.tls(t, ip(66), &x, "data.mistat.xiaomi.com");
    b.tls_exchange(&mut c, 4_196, 301);
    b.tls_close(c);

    // Push heartbeats at ~17, ~27 and ~38 s; the connection is still open when the capture ends.
    for ms in [17_200, 27_200, 38_100] {
        let now = push.next_ts_ns();
        push.wait(at(ms) - now);
        b.tls_exchange(&mut push, 53, 53);
    }
    b.lists.push(push.frames());

    crate::interleave(b.lists)
}

/// How one TLS peer behaves.
struct Tls {
    /// Server TTL as seen at the access point.
    ttl: u8,
    /// One-way latency (the time step between segments).
    latency: i64,
    /// ALPN offered.
    alpn: &'static [&'static str],
    /// ALPN chosen by the server.
    server_alpn: Option<&'static str>,
}

struct Builder {
    rng: Rng,
    link: Link,
    next_port: u16,
    lists: Vec<Vec<Frame>>,
}

impl Builder {
    fn port(&mut self) -> u16 {
        self.next_port += 1 + self.rng.below(37) as u16;
        self.next_port
    }

    /// Sub-millisecond jitter, so timestamps use the nanosecond resolution.
    fn jitter(&mut self) -> i64 {
        self.rng.below(900_000) as i64
    }

    fn udp(&mut self, at: i64, server: SocketAddr, step: i64, ttl: u8) -> UdpConversation {
        let port = self.port();
        let (cid, sid) = (self.rng.next_u32() as u16, self.rng.next_u32() as u16);
        Conversation::udp(SocketAddr::new(PHONE_IP.into(), port), server)
            .link(self.link.clone())
            .start_ns(at + self.jitter())
            .step_ns(step)
            .ip_ids(cid, sid)
            .ttl(64, ttl)
    }

    fn tcp(&mut self, at: i64, server: SocketAddr, latency: i64, ttl: u8) -> TcpConversation {
        let port = self.port();
        let (cid, sid) = (self.rng.next_u32() as u16, self.rng.next_u32() as u16);
        Conversation::tcp(SocketAddr::new(PHONE_IP.into(), port), server)
            .link(self.link.clone())
            .start_ns(at + self.jitter())
            .step_ns(latency + self.jitter())
            .isn(self.rng.next_u32(), self.rng.next_u32())
            .ip_ids(cid, sid)
            .ttl(64, ttl)
            .window(29_200)
            .tcp_timestamps(true)
    }

    /// A DNS A lookup through the gateway; returns the time the connection that follows starts.
    fn lookup(
        &mut self,
        at: i64,
        name: &str,
        cnames: &[&str],
        addrs: &[Ipv4Addr],
        ttl: u32,
    ) -> i64 {
        let id = self.rng.next_u32() as u16;
        let q = dns::DnsMessage::query(id, name, dns::qtype::A);
        let addrs: Vec<IpAddr> = addrs.iter().map(|&a| a.into()).collect();
        let r = q.clone().into_response().answers(dns::DnsRecord::chain(name, cnames, &addrs, ttl));
        let step = 17 * MS + self.jitter();
        let mut u = self.udp(at, SocketAddr::new(GATEWAY_IP.into(), 53), step, 64);
        u.client_datagram(&q.encode()).server_datagram(&r.encode());
        let next = u.next_ts_ns();
        self.lists.push(u.frames());
        next + 2 * MS + self.jitter()
    }

    /// Handshake, TLS 1.2 hellos, certificate flight, key exchange and Finished messages.
    fn tls(&mut self, at: i64, ip: Ipv4Addr, peer: &Tls, sni: &str) -> TcpConversation {
        let mut c = self.tcp(at, SocketAddr::new(ip.into(), 443), peer.latency, peer.ttl);
        c.handshake();
        let hello = tls::ClientHello::tls12(sni).with_alpn(peer.alpn);
        c.client_sends(&hello.record());
        let mut sh = tls::ServerHello::tls12(peer.server_alpn);
        sh.random = self.rng.array();
        sh.session_id = self.rng.bytes(32);
        let mut flight = sh.record();
        let mut msgs = tls::handshake_message(11, &self.certificates());
        msgs.extend_from_slice(&tls::handshake_message(12, &self.rng.bytes(329)));
        msgs.extend_from_slice(&tls::handshake_message(14, &[]));
        flight.extend_from_slice(&tls::record(
            tls::content_type::HANDSHAKE,
            tls::version::TLS12,
            &msgs,
        ));
        c.server_sends(&flight).client_ack();
        let mut kx = vec![65];
        kx.extend_from_slice(&self.rng.bytes(65));
        let mut fin = tls::record(
            tls::content_type::HANDSHAKE,
            tls::version::TLS12,
            &tls::handshake_message(16, &kx),
        );
        fin.extend_from_slice(&tls::change_cipher_spec());
        fin.extend_from_slice(&self.encrypted(tls::content_type::HANDSHAKE, 40));
        c.client_sends(&fin);
        let mut fin = tls::change_cipher_spec();
        fin.extend_from_slice(&self.encrypted(tls::content_type::HANDSHAKE, 40));
        c.server_sends(&fin);
        c
    }

    /// A Certificate message body: a list of one opaque DER-framed blob (not a real X.509).
    fn certificates(&mut self) -> Vec<u8> {
        let len = 2_400 + self.rng.below(900) as usize;
        let u24 = |n: usize| [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let mut v = Vec::with_capacity(len + 10);
        v.extend_from_slice(&u24(len + 3));
        v.extend_from_slice(&u24(len));
        v.extend_from_slice(&[0x30, 0x82]);
        v.extend_from_slice(&((len - 4) as u16).to_be_bytes());
        v.extend_from_slice(&self.rng.bytes(len - 4));
        v
    }

    /// A TLS 1.2 record of `len` bytes of ciphertext.
    fn encrypted(&mut self, content_type: u8, len: usize) -> Vec<u8> {
        tls::record(content_type, tls::version::TLS12, &self.rng.bytes(len))
    }

    /// The client sends `up` bytes of application data, the server answers with `down`.
    fn tls_exchange(&mut self, c: &mut TcpConversation, up: usize, down: usize) {
        let req = tls::application_data(up, &mut self.rng);
        c.client_sends(&req).server_ack();
        let resp = tls::application_data_stream(down, 4_096, &mut self.rng);
        c.server_sends(&resp).client_ack();
    }

    /// Encrypted close_notify, then an orderly close.
    fn tls_close(&mut self, mut c: TcpConversation) {
        let alert = self.encrypted(tls::content_type::ALERT, 26);
        c.client_sends(&alert).fin();
        self.lists.push(c.frames());
    }

    fn activation(&mut self, at: i64, ip: Ipv4Addr) {
        let mut c = self.tcp(at, SocketAddr::new(ip.into(), 80), 29 * MS, 47);
        c.handshake();
        let form = format!(
            "imei={IMEI}&imsi={IMSI}&phone={}&model=HM+1SW&miui=JHCTWBH45.0&locale=zh_TW&sign=1",
            PHONE_NUMBER.replace('+', "%2B")
        );
        let req = http::HttpRequest::new(
            "POST",
            ACTIVATION_HOST,
            &format!("/pass/v2/activate?imei={IMEI}&model=HM%201SW&miui=JHCTWBH45.0"),
        )
        .header("User-Agent", UA)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Connection", "Keep-Alive")
        .header("Accept-Encoding", "gzip")
        .body(form.into_bytes())
        .to_bytes();
        let first = c.len();
        c.client_sends(&req).server_ack();
        // The ACK is lost on the radio: the phone resends the request after its timeout.
        c.wait(213 * MS);
        c.retransmit(first).server_ack();
        let json = format!(
            "{{\"code\":0,\"description\":\"ok\",\"data\":{{\"userId\":\"{USER_ID}\",\
             \"activated\":true,\"region\":\"TW\",\"pushServer\":\"resolver.msg.xiaomi.net\"}}}}"
        );
        let resp = http::HttpResponse::ok("application/json;charset=UTF-8", json.into_bytes())
            .header("Server", "nginx")
            .header("Date", &format!("{DATE}02 GMT"))
            .to_bytes();
        c.server_sends(&resp).client_ack().fin();
        self.lists.push(c.frames());
    }

    fn contacts(&mut self, at: i64, ip: Ipv4Addr) {
        let mut c = self.tcp(at, SocketAddr::new(ip.into(), 80), 33 * MS, 47);
        c.handshake();
        let mut json = format!(
            "{{\"userId\":\"{USER_ID}\",\"deviceId\":\"{IMEI_MD5}\",\"syncType\":\"full\",\"contacts\":["
        );
        for (i, (name, number)) in CONTACTS.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(
                "{{\"id\":{},\"displayName\":\"{name}\",\"phones\":[{{\"type\":\"mobile\",\
                 \"number\":\"{number}\"}}],\"starred\":{}}}",
                1001 + i,
                i == 10
            ));
        }
        json.push_str("]}");
        let req = http::HttpRequest::new(
            "POST",
            CONTACTS_HOST,
            &format!("/mic/contact/v2/user/{USER_ID}/full/upload?sid=micontact"),
        )
        .header("User-Agent", UA)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(json.into_bytes())
        .gzip()
        .chunked(256)
        .to_bytes();
        // Headers, then the body in two writes; the last two segments arrive swapped.
        let head = req.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
        let mid = head + (req.len() - head) / 2;
        let first = c.len();
        c.client_sends_split(&req, &[head, mid]);
        c.reorder(&[first + 2, first + 1]);
        c.server_ack();
        let resp = http::HttpResponse::ok(
            "application/json;charset=UTF-8",
            b"{\"code\":0,\"result\":\"ok\",\"data\":{\"synced\":12,\"failed\":0}}".to_vec(),
        )
        .header("Server", "nginx")
        .header("Date", &format!("{DATE}12 GMT"))
        .to_bytes();
        c.server_sends(&resp).client_ack().fin();
        self.lists.push(c.frames());
    }

    fn tracker(&mut self, at: i64, ip: Ipv4Addr) {
        let mut c = self.tcp(at, SocketAddr::new(ip.into(), 80), 12 * MS, 52);
        c.handshake();
        let uri = format!(
            "/v1/ad?did={IMEI_MD5}&aid={ANDROID_ID_SHA1}&mac={MAC_HEX}\
             &os=android&osv=4.3&model=HM%201SW&app=com.miui.video&slot=splash"
        );
        let req = http::HttpRequest::new("GET", TRACKER_HOST, &uri)
            .header("User-Agent", UA)
            .header("Accept-Encoding", "gzip")
            .header("Connection", "Keep-Alive")
            .to_bytes();
        c.client_sends(&req).server_ack();
        let body = b"{\"status\":0,\"ads\":[],\"next\":3600,\"track\":\"ok\"}".to_vec();
        let resp = http::HttpResponse::ok("application/json", body)
            .header("Date", &format!("{DATE}27 GMT"))
            .gzip()
            .to_bytes();
        c.server_sends(&resp).client_ack().fin();
        self.lists.push(c.frames());
    }

    fn quic(&mut self, at: i64, ip: Ipv4Addr) {
        let step = 5 * MS + self.jitter();
        let mut u = self.udp(at, SocketAddr::new(ip.into(), 443), step, 56);
        let dcid: [u8; 8] = self.rng.array();
        let scid: [u8; 8] = self.rng.array();
        u.client_datagram(&quic::client_initial(
            quic::QuicVersion::V1,
            &dcid,
            &scid,
            "www.google.com",
            &["h3"],
        ));
        // The server's Initial + Handshake, opaque here: a long header, then ciphertext.
        let mut long = vec![0xc0];
        long.extend_from_slice(&1u32.to_be_bytes());
        long.push(8);
        long.extend_from_slice(&scid);
        long.push(8);
        long.extend_from_slice(&self.rng.array::<8>());
        long.push(0);
        let rest = 1_200 - long.len() - 2;
        long.extend_from_slice(&(0x4000 | rest as u16).to_be_bytes());
        long.extend_from_slice(&self.rng.bytes(rest));
        u.server_datagram(&long);
        for i in 0..6 {
            let (dir, len) = if i % 3 == 0 {
                (Direction::ClientToServer, 42 + self.rng.below(20) as usize)
            } else {
                (Direction::ServerToClient, 1_200)
            };
            let mut p = self.rng.bytes(len);
            p[0] = 0x40 | (p[0] & 0x3f);
            u.datagram(dir, &p);
        }
        self.lists.push(u.frames());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_small_and_ordered() {
        let a = redmi_2014();
        assert_eq!(a, redmi_2014());
        assert!(a.len() < 200 * 1024, "demo is {} bytes", a.len());
        let frames = redmi_2014_frames();
        assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0));
        let (first, last) = (frames[0].0, frames[frames.len() - 1].0);
        assert!(first >= START_NS && last - first < 41 * SEC && last - first > 35 * SEC);
    }

    #[test]
    fn identifiers_are_planted_in_plaintext() {
        let a = redmi_2014();
        let has = |s: &str| a.windows(s.len()).any(|w| w == s.as_bytes());
        for s in [IMEI, IMSI, "%2B886912345678", IMEI_MD5, ANDROID_ID_SHA1, MAC_HEX] {
            assert!(has(s), "{s} missing");
        }
        // The contacts travel gzip-compressed: not visible as such.
        assert!(!has(CONTACTS[0].1));
    }
}
