//! Compiles a Ghostery TrackerDB SQL dump into phonehome's fetched entity layer
//! (`data/entities/trackerdb.tsv`), then reads the result back as a check. Run by
//! `scripts/entities-trackerdb.sh`:
//!
//! ```text
//! cargo run --release -p report --example entities-trackerdb-compile -- TRACKERDB.sql OUT.tsv
//! ```
//!
//! Exit status: 0 on success, 1 when the dump cannot be compiled or the output not written or
//! read back, 64 on bad usage.

use std::path::Path;
use std::process::ExitCode;

use report::attribution::{Entities, open, trackerdb};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sql, out] = args.as_slice() else {
        eprintln!("usage: entities-trackerdb-compile TRACKERDB.sql OUT.tsv");
        return ExitCode::from(64);
    };
    let result = (|| -> Result<open::CompileStats, String> {
        let text = std::fs::read_to_string(sql).map_err(|e| format!("{sql}: {e}"))?;
        let (layer, stats) = trackerdb::compile(&text, &Entities::curated_only())?;
        std::fs::write(out, &layer).map_err(|e| format!("{out}: {e}"))?;
        open::parse(&layer, Path::new(out)).map_err(|e| format!("read back: {e}"))?;
        Ok(stats)
    })();
    match result {
        Ok(s) => {
            println!(
                "{out}: {} lines, {} organisations, {} domains ({} with a country)",
                s.lines, s.organisations, s.domains, s.with_country
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
