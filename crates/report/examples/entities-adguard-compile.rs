//! Compiles AdGuard companiesdb's `trackers.json` and `companies.json` into phonehome's open-data
//! entity layer (`crates/report/data/adguard/entities.tsv`), leaving out what the curated
//! `entities.toml` already attributes, then reads the result back as a check. Run by
//! `scripts/entities-adguard.sh`:
//!
//! ```text
//! cargo run --release -p report --example entities-adguard-compile -- TRACKERS.json COMPANIES.json OUT.tsv
//! ```
//!
//! Exit status: 0 on success, 1 when the input cannot be compiled or the output not written or
//! read back, 64 on bad usage.

use std::path::Path;
use std::process::ExitCode;

use report::attribution::{Entities, open};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [trackers, companies, out] = args.as_slice() else {
        eprintln!("usage: entities-adguard-compile TRACKERS.json COMPANIES.json OUT.tsv");
        return ExitCode::from(64);
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let result = (|| -> Result<open::CompileStats, String> {
        let curated = Entities::curated_only();
        let (text, stats) = open::compile_adguard(&read(trackers)?, &read(companies)?, &curated)?;
        std::fs::write(out, &text).map_err(|e| format!("{out}: {e}"))?;
        open::parse(&text, Path::new(out)).map_err(|e| format!("read back: {e}"))?;
        Ok(stats)
    })();
    match result {
        Ok(s) => {
            println!(
                "{out}: {} lines, {} organisations, {} domains ({} with a country; {} domains \
                 left to the curated layer)",
                s.lines, s.organisations, s.domains, s.with_country, s.curated
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
