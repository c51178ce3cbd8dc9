//! Writes a capture of mixed phone-like traffic.
//!
//! Usage: `cargo run --release -p testkit --example gen_mix -- OUT SIZE_MIB [pcap|pcapng|pcap.gz] [SEED] [mix|http]`
//!
//! `http`: only cleartext HTTP, with a few requests carrying values of the benchmark profile
//! (`gen_profile`); see `testkit::mix::MixMode::Http`.

use std::time::Instant;

use testkit::mix::{MixConfig, MixGenerator, MixMode};
use testkit::{PcapNgWriter, PcapOptions, PcapWriter};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: gen_mix OUT SIZE_MIB [pcap|pcapng|pcap.gz] [SEED] [mix|http]");
        std::process::exit(2);
    }
    let out = &args[0];
    let mib: u64 = args[1].parse().expect("SIZE_MIB");
    let format = args.get(2).map_or("pcap", String::as_str);
    let seed = args.get(3).map_or(1, |s| s.parse().expect("SEED"));
    let mode = match args.get(4).map_or("mix", String::as_str) {
        "mix" => MixMode::Mixed,
        "http" => MixMode::Http,
        other => panic!("unknown mode {other} (mix or http)"),
    };
    let cfg = MixConfig { seed, target_bytes: mib << 20, mode, ..MixConfig::default() };
    let link_type = cfg.link.link_type();
    let mut generator = MixGenerator::new(cfg);
    let started = Instant::now();
    let file = testkit::create_file(out)?;
    let stats = match format {
        "pcap" => {
            let mut w = PcapWriter::with_options(file, PcapOptions::new(link_type).nanos())?;
            let s = generator.run(&mut w)?;
            w.finish()?;
            s
        }
        "pcapng" => {
            let mut w = PcapNgWriter::new(file)?;
            w.add_interface(link_type as u16, 0, Some(9))?;
            let s = generator.run(&mut w)?;
            w.finish()?;
            s
        }
        "pcap.gz" => {
            let mut w =
                PcapWriter::with_options(testkit::gzip_fast(file), PcapOptions::new(link_type))?;
            let s = generator.run(&mut w)?;
            w.finish()?.finish()?;
            s
        }
        other => panic!("unknown format {other}"),
    };
    eprintln!("{stats:?}");
    eprintln!("wrote {out} in {:.2?}", started.elapsed());
    Ok(())
}
