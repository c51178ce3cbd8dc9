//! Compiles the ip-location-db ASN CSV into the binary range table `phonehome` loads
//! (`report::geo::compile_asn_csv`; format in `crates/report/src/geo/asn/table.rs`), then loads the
//! result back as a check. Run by `scripts/geo-setup.sh`:
//!
//! ```text
//! cargo run --release -p report --example geo-compile -- asn.csv data/geo/asn.bin
//! ```
//!
//! Exit status: 0 on success, 1 when the CSV cannot be compiled or the table cannot be written or
//! read back, 64 on bad usage.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use report::geo::{self, Geo};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [csv, out] = args.as_slice() else {
        eprintln!("usage: geo-compile ASN.csv OUT.bin");
        return ExitCode::from(64);
    };
    let (csv, out) = (Path::new(csv), Path::new(out));
    let t = Instant::now();
    let stats = match geo::compile_asn_csv(csv, out) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("geo-compile: {e}");
            return ExitCode::FAILURE;
        }
    };
    let compiled_in = t.elapsed();
    for (line, reason) in &stats.first_malformed {
        eprintln!("geo-compile: {}: line {line}: {reason} (skipped)", csv.display());
    }
    let t = Instant::now();
    let g = match Geo::open(None, Some(out)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("geo-compile: reading back: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded_in = t.elapsed();
    eprintln!(
        "geo-compile: {} -> {}: {} IPv4 and {} IPv6 ranges, {} networks, {} organisations, \
         {} malformed lines skipped, {} overlapping ranges clipped; {} bytes; compiled in {:.0?}, \
         loads in {:.1?}",
        csv.display(),
        out.display(),
        stats.v4_ranges,
        stats.v6_ranges,
        stats.networks,
        stats.orgs,
        stats.malformed,
        stats.overlapping,
        g.heap_bytes(),
        compiled_in,
        loaded_in,
    );
    ExitCode::SUCCESS
}
