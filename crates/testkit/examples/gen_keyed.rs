//! Writes the decryption benchmark capture: phone-like HTTPS, all of it opened by the key log
//! written beside it. Two thirds TLS 1.3 (AES-128-GCM, rustls) carrying HTTP/2, one third QUIC v1
//! carrying HTTP/3 (testkit's own packets); per connection 16 requests of JSON bodies (300 B to
//! 3 KB) and responses of 1 to 24 KB, some requests with the benchmark profile's values.
//!
//! Usage: `cargo run --release -p testkit --example gen_keyed -- OUT.pcap SIZE_MIB [SEED]`
//! (the key log goes to `OUT.pcap.keys`).

use std::io::Write;

use testkit::app::h2::{self, H2Message};
use testkit::app::h3;
use testkit::rng::Rng;
use testkit::tls_session::{Resumption, TlsPair};
use testkit::{Conversation, Link, PcapOptions, PcapWriter};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().expect("usage: gen_keyed OUT SIZE_MIB [SEED]");
    let mib: u64 = args.get(1).map_or(64, |s| s.parse().expect("SIZE_MIB"));
    let seed: u64 = args.get(2).map_or(1, |s| s.parse().expect("SEED"));
    let target = mib << 20;
    let mut rng = Rng::new(seed);
    let link = Link::ethernet();
    let mut w = PcapWriter::with_options(
        testkit::create_file(out)?,
        PcapOptions::new(link.link_type()).nanos(),
    )?;
    let mut keys = std::io::BufWriter::new(std::fs::File::create(format!("{out}.keys"))?);
    let pair = TlsPair::new(0x1301, &["h2"], "api.example.com", Resumption::Tickets);
    let mut written = 0u64;
    let mut start = 1_700_000_000_000_000_000i64;
    let mut n = 0u64;
    let body = |rng: &mut Rng, lo: usize, hi: usize| -> Vec<u8> {
        let len = lo + (rng.next_u64() as usize) % (hi - lo);
        let mut b = String::from("{\"events\":[");
        while b.len() < len {
            b.push_str(&format!(
                "{{\"t\":{},\"k\":\"v{}\"}},",
                rng.next_u64() % 100_000,
                rng.next_u64() % 1000
            ));
        }
        b.push_str("{}]}");
        b.into_bytes()
    };
    while written < target {
        n += 1;
        let host = format!("api{}.example.com", n % 97);
        let client = std::net::SocketAddr::from((
            [10, 0, (n >> 8) as u8, n as u8],
            40_000 + (n % 20_000) as u16,
        ));
        let server = std::net::SocketAddr::from(([198, 18, (n >> 8) as u8, n as u8], 443));
        let frames = if n.is_multiple_of(3) {
            let reqs: Vec<Vec<u8>> = (0..16)
                .map(|_| {
                    let b = body(&mut rng, 300, 3000);
                    h3::request(
                        "POST",
                        &host,
                        "/v1/log",
                        &[("content-type", "application/json")],
                        &b,
                    )
                })
                .collect();
            let q = h3::connection(&host, &reqs, n.is_multiple_of(2), (n % 251) as u8);
            keys.write_all(q.keylog.as_bytes())?;
            let mut u = Conversation::udp(client, server).link(link.clone()).start_ns(start);
            q.lay_on(&mut u);
            u.frames()
        } else {
            let reqs: Vec<H2Message> = (0..16)
                .map(|i| {
                    H2Message::request(1 + 2 * i, "POST", &host, "/v1/log")
                        .header("content-type", "application/json")
                        .body(body(&mut rng, 300, 3000))
                })
                .collect();
            let resps: Vec<H2Message> = (0..16)
                .map(|i| H2Message::response(1 + 2 * i, 200).body(body(&mut rng, 1000, 24_000)))
                .collect();
            let t = pair.session_to(&host, &[(h2::client(&reqs), h2::server(&resps))], None);
            let mut tcp = Conversation::tcp(client, server).link(link.clone()).start_ns(start);
            tcp.handshake();
            t.lay_on(&mut tcp, 1400);
            tcp.frames()
        };
        for (ts, f) in &frames {
            written += f.len() as u64 + 16;
            w.write_packet(*ts, f)?;
        }
        start += 20_000_000;
    }
    keys.write_all(pair.keylog().as_bytes())?;
    keys.flush()?;
    w.finish()?;
    eprintln!("wrote {out}: {n} connections, {} MiB, key log {out}.keys", written >> 20);
    Ok(())
}
