//! Writes a day of a phone's traffic: capture time runs 24 hours. Every `STEP` seconds the phone
//! asks DNS for a tracker host and sends it a plain HTTP request carrying a fresh e-mail address
//! and a fresh 16-hex-digit token (new findings all day long), to one of 60,000 hosts of 3,000
//! parties (new destinations all day long); every tenth request also carries the demo profile's
//! IMEI. For the memory bound of `watch` over days (issue 12): the findings and destinations
//! held stay under their limits, the rest is summarised.
//!
//! ```text
//! cargo run --release -p testkit --example gen_day -- OUT.pcap [STEP_SECONDS]     (STEP: 2)
//! ```

use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use testkit::app::dns::DnsMessage;
use testkit::{Conversation, PcapWriter, Rng, SEC};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: gen_day OUT.pcap [STEP_SECONDS]");
        std::process::exit(64);
    };
    let step: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2).max(1);
    let start = 1_700_000_000 * SEC;
    let n = 86_400 / step;
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let mut w: Option<PcapWriter<BufWriter<std::fs::File>>> = None;
    let mut file = Some(file);
    let mut rng = Rng::new(24);
    let resolver: SocketAddr = "10.0.0.1:53".parse().unwrap();
    for i in 0..n {
        let t = start + i * step * SEC;
        let party = rng.below(3_000);
        let host = format!("h{}.party{party}.example", rng.below(60_000));
        let port = 20_000 + (i % 40_000) as u16;
        let phone = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), port);
        let q = DnsMessage::query((i & 0xffff) as u16, &host, 1);
        let mut d = Conversation::udp(phone, resolver).start_ns(t);
        d.client_datagram(&q.encode());
        let server = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(198, 18, (party >> 8) as u8, party as u8)),
            80,
        );
        let mut c = Conversation::tcp(phone, server).start_ns(t + SEC / 10);
        c.handshake();
        let imei = if i % 10 == 0 { "&imei=865123045678905" } else { "" };
        let request = format!(
            "GET /e?email=user{}%40mail{}.example&id={:016x}{imei} HTTP/1.1\r\nHost: {host}\r\n\r\n",
            rng.below(1_000_000_000),
            rng.below(100),
            rng.next_u64() | (1 << 63),
        );
        c.client_sends(request.as_bytes());
        c.server_sends(b"HTTP/1.1 204 No Content\r\n\r\n");
        c.fin();
        let mut frames = d.frames();
        frames.extend(c.frames());
        frames.sort_by_key(|f| f.0);
        if w.is_none() {
            w = Some(PcapWriter::new(file.take().expect("once"), c.link_type())?);
        }
        if let Some(w) = w.as_mut() {
            w.write_frames(&frames)?;
        }
    }
    if let Some(w) = w {
        w.finish()?;
    }
    eprintln!("{out}: {n} requests over 24 h of capture time");
    Ok(())
}
