//! Mixed phone-like traffic generator, for benchmark and soak captures.
//!
//! Flows are generated in batches of `concurrent_flows` overlapping conversations (merged by
//! timestamp), until `target_bytes` of frame data have been written. The mix: DNS lookups over
//! UDP (A / AAAA with CNAME chains), TLS over TCP 443 (ClientHello with SNI, ServerHello, bulk
//! application data), QUIC v1 / v2 over UDP 443 (encrypted client Initial, then opaque
//! packets), and plain HTTP/1.1 over TCP 80 (gzip and chunked bodies). All payloads are
//! precomputed once and reused, so generation runs at memory speed; output is deterministic
//! for a given configuration.
//!
//! ```
//! use testkit::mix::{MixConfig, generate};
//! use testkit::PcapWriter;
//! let cfg = MixConfig { target_bytes: 200_000, ..MixConfig::default() };
//! let mut w = PcapWriter::new(Vec::new(), cfg.link.link_type()).unwrap();
//! let stats = generate(&mut w, &cfg).unwrap();
//! assert!(stats.frame_bytes >= 200_000);
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::app::{dns, http, quic, tls};
use crate::conversation::{Conversation, Direction, TcpConversation};
use crate::packet::Link;
use crate::rng::Rng;
use crate::{DEFAULT_START_NS, Frame, MS, PacketSink, US};

mod http_assets;
mod profile;

pub use profile::{BenchContact, BenchProfile};

/// Domains phones talk to: trackers, ad networks, CDNs, app back-ends (all fictional or
/// documentation-safe in spirit; only used as names).
pub const DOMAINS: [&str; 24] = [
    "graph.facebook.com",
    "app-measurement.com",
    "firebaselogging-pa.googleapis.com",
    "api.mixpanel.com",
    "sdk.iad-01.braze.com",
    "t.appsflyer.com",
    "app.adjust.com",
    "settings.crashlytics.com",
    "api2.amplitude.com",
    "ads.mopub.com",
    "googleads.g.doubleclick.net",
    "config.unity3d.com",
    "mobile.events.data.microsoft.com",
    "inapps.appsflyersdk.com",
    "api.segment.io",
    "cdn.branch.io",
    "telemetry.example-app.com",
    "api.example-weather.com",
    "images.example-cdn.net",
    "static.example-shop.com",
    "push.example-messenger.org",
    "analytics.example-game.io",
    "update.example-os.net",
    "sync.example-notes.app",
];

/// Generator settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixConfig {
    /// PRNG seed: same seed, same output.
    pub seed: u64,
    /// Stop after a batch once this many frame bytes were written.
    pub target_bytes: u64,
    /// Timestamp of the first batch.
    pub start_ns: i64,
    /// Link encapsulation of every frame.
    pub link: Link,
    /// Percentage (0..=100) of flows over IPv6.
    pub ipv6_percent: u8,
    /// Flows generated (and interleaved) per batch.
    pub concurrent_flows: usize,
    /// What kind of traffic.
    pub mode: MixMode,
}

/// What the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MixMode {
    /// DNS, TLS, QUIC and plain HTTP (the default).
    #[default]
    Mixed,
    /// Only cleartext HTTP/1.1 over TCP 80, keep-alive connections of 1-4 exchanges: app and
    /// tracker requests (analytics query strings, JSON event batches, some gzip-encoded, forms,
    /// cookies, bearer tokens) and responses (JSON gzip or chunked, HTML, JavaScript, images).
    /// About one connection in 300 also carries a request with values of
    /// [`BenchProfile::new(1, 500)`](BenchProfile) (IMEI, IMSI, ICCID, phone, MAC, serial,
    /// SHA-256 of the Android ID, advertising ID, e-mail, a gzip address-book upload).
    Http,
}

impl Default for MixConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            target_bytes: 64 << 20,
            start_ns: DEFAULT_START_NS,
            link: Link::ethernet(),
            ipv6_percent: 20,
            concurrent_flows: 32,
            mode: MixMode::Mixed,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MixStats {
    /// Frames written.
    pub frames: u64,
    /// Bytes of frame data written (without capture-format overhead).
    pub frame_bytes: u64,
    /// Flows generated.
    pub flows: u64,
    /// DNS exchanges.
    pub dns: u64,
    /// TLS-over-TCP connections.
    pub tls: u64,
    /// QUIC connections.
    pub quic: u64,
    /// Plain HTTP connections.
    pub http: u64,
    /// Timestamp of the last frame.
    pub last_ts_ns: i64,
}

/// Precomputed payloads.
struct Assets {
    tls_hellos: Vec<Vec<u8>>,
    /// Handshake messages of QUIC ClientHellos (encrypted per flow, each with its own DCID).
    quic_hellos: Vec<Vec<u8>>,
    dns_pairs: Vec<(Vec<u8>, Vec<u8>)>,
    http_reqs: Vec<Vec<u8>>,
    http_resps: Vec<Vec<u8>>,
    server_flight: Vec<u8>,
    client_finished: Vec<u8>,
    client_requests: Vec<Vec<u8>>,
    /// TLS application-data records, 16 KiB of ciphertext each, back to back.
    app_records: Vec<u8>,
    /// Random bytes for opaque payloads.
    random: Vec<u8>,
    /// Payloads of [`MixMode::Http`] (built only in that mode).
    http: Option<http_assets::HttpAssets>,
}

const RECORD: usize = 16_384 + 5;

impl Assets {
    fn new(rng: &mut Rng) -> Self {
        let tls_hellos = DOMAINS
            .iter()
            .map(|d| tls::ClientHello::new(d).with_grease(true).padded_to(517).record())
            .collect();
        let mut dns_pairs = Vec::new();
        for (i, d) in DOMAINS.iter().enumerate() {
            for (k, qt) in
                [dns::qtype::A, dns::qtype::AAAA, dns::qtype::HTTPS].into_iter().enumerate()
            {
                let id = ((i * 3 + k) as u16).wrapping_mul(997);
                let q = dns::DnsMessage::query(id, d, qt).with_edns(1232);
                let addrs: Vec<IpAddr> = match qt {
                    dns::qtype::A => vec![server_v4(i).into(), server_v4(i + 100).into()],
                    dns::qtype::AAAA => vec![server_v6(i).into()],
                    _ => Vec::new(),
                };
                let cname = format!("{d}.edgekey.example-cdn.net");
                let chain: Vec<&str> = if i.is_multiple_of(2) { vec![&cname] } else { Vec::new() };
                let r = q
                    .clone()
                    .into_response()
                    .answers(dns::DnsRecord::chain(d, &chain, &addrs, 300));
                dns_pairs.push((q.encode(), r.encode()));
            }
        }
        let mut http_reqs = Vec::new();
        for d in &DOMAINS[16..] {
            http_reqs.push(
                http::HttpRequest::get(d, "/v1/config?platform=android&build=1234").to_bytes(),
            );
            let body = format!("{{\"device_id\":\"{:016x}\",\"events\":[1,2,3]}}", rng.next_u64());
            http_reqs.push(http::HttpRequest::post(d, "/collect", body.into_bytes()).to_bytes());
        }
        let json =
            b"{\"ok\":true,\"ttl\":3600,\"flags\":[\"a\",\"b\",\"c\"],\"pad\":\"".repeat(200);
        let http_resps = vec![
            http::HttpResponse::ok("application/json", json.clone()).gzip().to_bytes(),
            http::HttpResponse::ok("application/json", json.clone()).chunked(4096).to_bytes(),
            http::HttpResponse::ok("image/png", rng.bytes(30_000)).to_bytes(),
            http::HttpResponse::no_content().to_bytes(),
        ];
        let mut server_flight = tls::ServerHello::tls13(&[0; 32]).record();
        server_flight.extend_from_slice(&tls::change_cipher_spec());
        server_flight.extend_from_slice(&tls::application_data(2800, rng));
        let mut client_finished = tls::change_cipher_spec();
        client_finished.extend_from_slice(&tls::application_data(53, rng));
        let client_requests = [350, 900, 1400].map(|n| tls::application_data(n, rng)).to_vec();
        let app_records = tls::application_data_stream(32 * 16_384, 16_384, rng);
        debug_assert_eq!(app_records.len(), 32 * RECORD);
        let quic_hellos = DOMAINS
            .iter()
            .map(|d| {
                let tp = quic::transport_parameters(&[0x51; 8]);
                tls::ClientHello::quic(d, &["h3"], tp).handshake_bytes()
            })
            .collect();
        Self {
            tls_hellos,
            quic_hellos,
            dns_pairs,
            http_reqs,
            http_resps,
            server_flight,
            client_finished,
            client_requests,
            app_records,
            random: rng.bytes(1 << 20),
            http: None,
        }
    }
}

fn server_v4(i: usize) -> Ipv4Addr {
    let [a, b] = (i as u16).to_be_bytes();
    Ipv4Addr::new(198, 18, a, b.wrapping_add(10))
}

fn server_v6(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, i as u16 + 10)
}

/// The traffic generator; keep one to continue a stream across calls.
pub struct MixGenerator {
    cfg: MixConfig,
    rng: Rng,
    assets: Assets,
    now: i64,
    next_port: u16,
    stats: MixStats,
}

impl std::fmt::Debug for MixGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MixGenerator").field("cfg", &self.cfg).field("stats", &self.stats).finish()
    }
}

impl MixGenerator {
    /// Precomputes the payloads (a few milliseconds).
    pub fn new(cfg: MixConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let mut assets = Assets::new(&mut rng);
        if cfg.mode == MixMode::Http {
            assets.http = Some(http_assets::HttpAssets::new(&mut rng, &DOMAINS[16..]));
        }
        let now = cfg.start_ns;
        Self { cfg, rng, assets, now, next_port: 32_768, stats: MixStats::default() }
    }

    /// Statistics so far.
    pub fn stats(&self) -> MixStats {
        self.stats
    }

    /// Writes batches to `sink` until the target size is reached; returns the totals.
    pub fn run(&mut self, sink: &mut dyn PacketSink) -> io::Result<MixStats> {
        let mut batch = Vec::new();
        while self.stats.frame_bytes < self.cfg.target_bytes {
            batch.clear();
            self.batch(&mut batch);
            batch.sort_by_key(|(ts, _)| *ts);
            for (ts, f) in &batch {
                sink.write_frame(*ts, f)?;
                self.stats.frames += 1;
                self.stats.frame_bytes += f.len() as u64;
                self.stats.last_ts_ns = *ts;
            }
            self.now = self.stats.last_ts_ns + self.rng.range(1, 50) as i64 * MS;
        }
        Ok(self.stats)
    }

    fn endpoints(&mut self, port: u16, server_idx: usize) -> (SocketAddr, SocketAddr) {
        self.next_port = if self.next_port >= 60_999 { 32_768 } else { self.next_port + 1 };
        let cport = self.next_port;
        if self.rng.chance(u64::from(self.cfg.ipv6_percent), 100) {
            let c = Ipv6Addr::new(0x2001, 0xdb8, 0x1, 0, 0, 0, 0, 2);
            (SocketAddr::new(c.into(), cport), SocketAddr::new(server_v6(server_idx).into(), port))
        } else {
            let c = Ipv4Addr::new(10, 0, 0, 2);
            (SocketAddr::new(c.into(), cport), SocketAddr::new(server_v4(server_idx).into(), port))
        }
    }

    /// A TCP conversation to server `dom` on `port` (random ISNs, auto-ACK), handshake done.
    fn tcp_after_handshake(
        &mut self,
        port: u16,
        dom: usize,
        start: i64,
        step: i64,
    ) -> TcpConversation {
        let (c, s) = self.endpoints(port, dom);
        let mut t = Conversation::tcp(c, s)
            .link(self.cfg.link.clone())
            .start_ns(start)
            .step_ns(step)
            .isn(self.rng.next_u32(), self.rng.next_u32())
            .auto_ack(true);
        t.handshake();
        t
    }

    fn random_slice(&mut self, len: usize) -> &[u8] {
        let len = len.min(self.assets.random.len());
        let at = self.rng.below((self.assets.random.len() - len + 1) as u64) as usize;
        &self.assets.random[at..at + len]
    }

    fn batch(&mut self, out: &mut Vec<Frame>) {
        for _ in 0..self.cfg.concurrent_flows.max(1) {
            let start = self.now + self.rng.below(300) as i64 * MS;
            let step = self.rng.range(50, 3000) as i64 * US;
            let dom = self.rng.below(DOMAINS.len() as u64) as usize;
            self.stats.flows += 1;
            if self.assets.http.is_some() {
                self.http_only_flow(dom, start, step, out);
                continue;
            }
            match self.rng.below(100) {
                0..35 => self.dns_flow(dom, start, step, out),
                35..70 => self.tls_flow(dom, start, step, out),
                70..85 => self.quic_flow(dom, start, step, out),
                _ => self.http_flow(dom, start, step, out),
            }
        }
    }

    fn dns_flow(&mut self, dom: usize, start: i64, step: i64, out: &mut Vec<Frame>) {
        self.stats.dns += 1;
        let k = self.rng.below(3) as usize;
        let (c, _) = self.endpoints(53, 0);
        let resolver: IpAddr = if c.is_ipv4() {
            Ipv4Addr::new(10, 0, 0, 1).into()
        } else {
            Ipv6Addr::new(0x2001, 0xdb8, 0x1, 0, 0, 0, 0, 1).into()
        };
        let (q, r) = &self.assets.dns_pairs[dom * 3 + k];
        let mut u = Conversation::udp(c, SocketAddr::new(resolver, 53))
            .link(self.cfg.link.clone())
            .start_ns(start)
            .step_ns(step * 10);
        u.client_datagram(q).server_datagram(r);
        u.write_to(out).expect("Vec sink");
    }

    fn tls_flow(&mut self, dom: usize, start: i64, step: i64, out: &mut Vec<Frame>) {
        self.stats.tls += 1;
        let mut t = self.tcp_after_handshake(443, dom, start, step);
        t.client_sends(&self.assets.tls_hellos[dom]);
        t.server_sends(&self.assets.server_flight);
        t.client_sends(&self.assets.client_finished);
        let req = self.rng.below(self.assets.client_requests.len() as u64) as usize;
        t.client_sends(&self.assets.client_requests[req]);
        // Downloads: mostly small, sometimes large.
        let records = if self.rng.chance(1, 5) {
            self.rng.range_usize(8, 32)
        } else {
            self.rng.range_usize(1, 4)
        };
        let resp = &self.assets.app_records[RECORD..RECORD * (1 + records).min(32)];
        t.server_sends(resp);
        t.fin();
        t.write_to(out).expect("Vec sink");
    }

    fn quic_flow(&mut self, dom: usize, start: i64, step: i64, out: &mut Vec<Frame>) {
        self.stats.quic += 1;
        let (c, s) = self.endpoints(443, dom);
        let mut u =
            Conversation::udp(c, s).link(self.cfg.link.clone()).start_ns(start).step_ns(step);
        let version =
            if self.rng.chance(1, 3) { quic::QuicVersion::V2 } else { quic::QuicVersion::V1 };
        let dcid: [u8; 8] = self.rng.array();
        let mut frames = Vec::with_capacity(1200);
        quic::crypto_frame(0, &self.assets.quic_hellos[dom], &mut frames);
        let initial = quic::ClientInitial::new(version, &dcid, &[0x51; 8]).packet(&frames);
        u.client_datagram(&initial);
        // The server's Initial + Handshake, opaque: a well-formed long header, random payload.
        let mut long = Vec::with_capacity(1200);
        long.push(0xc0 | (version.initial_type_bits() << 4));
        long.extend_from_slice(&version.wire().to_be_bytes());
        long.extend_from_slice(&[8, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 0x51, 8]);
        long.extend_from_slice(&self.rng.array::<8>());
        long.push(0); // token length
        let rest = 1200 - long.len() - 2;
        long.extend_from_slice(&(0x4000 | rest as u16).to_be_bytes());
        long.extend_from_slice(self.random_slice(rest));
        u.server_datagram(&long);
        let packets = self.rng.range_usize(3, 120);
        for i in 0..packets {
            let (dir, len) = if i % 8 == 7 {
                (Direction::ClientToServer, self.rng.range_usize(30, 60))
            } else {
                (Direction::ServerToClient, 1200)
            };
            let mut p = self.random_slice(len).to_vec();
            p[0] = 0x40 | (p[0] & 0x3f);
            u.datagram(dir, &p);
        }
        u.write_to(out).expect("Vec sink");
    }

    /// A keep-alive HTTP connection of [`MixMode::Http`].
    fn http_only_flow(&mut self, dom: usize, start: i64, step: i64, out: &mut Vec<Frame>) {
        self.stats.http += 1;
        let mut t = self.tcp_after_handshake(80, dom, start, step);
        let Some(h) = &self.assets.http else { return };
        for _ in 0..self.rng.range_usize(1, 5) {
            let rq = if self.rng.chance(1, 1000) {
                &h.planted[self.rng.below(h.planted.len() as u64) as usize]
            } else {
                &h.reqs[self.rng.below(h.reqs.len() as u64) as usize]
            };
            t.client_sends(rq);
            t.server_sends(&h.resps[self.rng.below(h.resps.len() as u64) as usize]);
        }
        t.fin();
        t.write_to(out).expect("Vec sink");
    }

    fn http_flow(&mut self, dom: usize, start: i64, step: i64, out: &mut Vec<Frame>) {
        self.stats.http += 1;
        let mut t = self.tcp_after_handshake(80, dom, start, step);
        let rq = self.rng.below(self.assets.http_reqs.len() as u64) as usize;
        let rs = self.rng.below(self.assets.http_resps.len() as u64) as usize;
        t.client_sends(&self.assets.http_reqs[rq]);
        t.server_sends(&self.assets.http_resps[rs]);
        t.fin();
        t.write_to(out).expect("Vec sink");
    }
}

/// Runs a fresh [`MixGenerator`] with `cfg` into `sink`.
pub fn generate(sink: &mut dyn PacketSink, cfg: &MixConfig) -> io::Result<MixStats> {
    MixGenerator::new(cfg.clone()).run(sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_mix_is_deterministic_and_ordered() {
        let cfg = MixConfig { target_bytes: 300_000, seed: 9, ..MixConfig::default() };
        let mut a: Vec<Frame> = Vec::new();
        let sa = generate(&mut a, &cfg).unwrap();
        let mut b: Vec<Frame> = Vec::new();
        let sb = generate(&mut b, &cfg).unwrap();
        assert_eq!(sa, sb);
        assert!(a == b);
        assert!(sa.frame_bytes >= 300_000);
        assert_eq!(sa.frames as usize, a.len());
        assert_eq!(sa.flows, sa.dns + sa.tls + sa.quic + sa.http);
        assert!(sa.dns > 0 && sa.tls > 0 && sa.quic > 0 && sa.http > 0, "{sa:?}");
        assert!(a.windows(2).all(|w| w[0].0 <= w[1].0), "time-ordered");
        // Every QUIC client Initial (IPv4, to port 443, 1200-byte payload) opens.
        let initials: Vec<&[u8]> = a
            .iter()
            .map(|(_, f)| &f[..])
            .filter(|f| f.len() == 14 + 28 + 1200 && f[12..14] == [8, 0] && f[23] == 17)
            .filter(|f| f[36..38] == 443u16.to_be_bytes())
            .collect();
        assert!(!initials.is_empty());
        assert!(initials.iter().all(|f| quic::open_initial(&f[42..], false).is_some()));
    }

    #[test]
    fn http_mode_is_only_cleartext_http() {
        let cfg = MixConfig {
            target_bytes: 2_000_000,
            seed: 3,
            mode: MixMode::Http,
            ..MixConfig::default()
        };
        let mut a: Vec<Frame> = Vec::new();
        let sa = generate(&mut a, &cfg).unwrap();
        let mut b: Vec<Frame> = Vec::new();
        assert_eq!(generate(&mut b, &cfg).unwrap(), sa);
        assert!(a == b, "deterministic");
        assert!(sa.http > 0 && sa.http == sa.flows, "{sa:?}");
        // IPv4 frames: every TCP segment is to or from port 80.
        let v4: Vec<&[u8]> =
            a.iter().map(|(_, f)| &f[..]).filter(|f| f[12..14] == [8, 0]).collect();
        assert!(!v4.is_empty());
        assert!(v4.iter().all(|f| f[23] == 6 && (f[34..36] == [0, 80] || f[36..38] == [0, 80])));
        let text = a.iter().flat_map(|(_, f)| f.iter().copied()).collect::<Vec<u8>>();
        assert!(text.windows(15).any(|w| w == b"Content-Encodin"), "gzip bodies");
    }
}
