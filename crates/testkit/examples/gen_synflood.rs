//! Writes a SYN flood: N TCP SYNs, each from its own source port and address to one of 256
//! servers, 10 µs apart: N flows that never complete, for the memory bound of `flows` and
//! `analyze` (issue 11: under 128 MiB with 1,000,000 flows).
//!
//! ```text
//! cargo run --release -p testkit --example gen_synflood -- OUT.pcap [N]     (N: 1000000)
//! ```

use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use testkit::packet::{Link, TcpFlags, tcp_frame};
use testkit::pcap::PcapWriter;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: gen_synflood OUT.pcap [N]");
        std::process::exit(64);
    };
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let link = Link::ethernet();
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let mut w = PcapWriter::new(file, link.link_type())?;
    for i in 0..n {
        let client = Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, 2);
        let src = SocketAddr::new(IpAddr::V4(client), 1024 + (i % 60_000) as u16);
        let dst = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, i as u8)), 443);
        let frame =
            tcp_frame(&link, src, dst, i.wrapping_mul(2_654_435_761), 0, TcpFlags::SYN, &[]);
        w.write_packet(1_700_000_000_000_000_000 + i64::from(i) * 10_000, &frame)?;
    }
    w.finish()?;
    eprintln!("{out}: {n} SYNs");
    Ok(())
}
