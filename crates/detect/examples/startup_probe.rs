//! Where the start-up time with a profile goes: loading it (TOML, vCard, phone-number metadata),
//! building its variants, building the automaton. Measures the issue 11 start-up target.
//!
//! ```text
//! cargo run --release -p detect --example startup_probe -- bench/out/bench-profile.toml
//! ```

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: startup_probe PROFILE.toml");
        return ExitCode::from(64);
    };
    let t = Instant::now();
    let profile = match detect::profile::Profile::load(&path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("startup_probe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = t.elapsed();
    let set = detect::variants::build(&profile);
    let built = t.elapsed();
    let matcher = match detect::matcher::Matcher::from_set(&set) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("startup_probe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = t.elapsed();
    let bytes: usize = set.variants.iter().map(|v| v.bytes.len()).sum();
    let mut distinct: Vec<&[u8]> = set.variants.iter().map(|v| v.bytes.as_slice()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    println!(
        "load {loaded:.1?}, variants {:.1?} ({} variants, {} distinct, {bytes} bytes), automaton {:.1?} ({} patterns); total {done:.1?}",
        built - loaded,
        set.variants.len(),
        distinct.len(),
        done - built,
        matcher.len(),
    );
    ExitCode::SUCCESS
}
