//! Tests that cannot run on this machine (a tool, the shared corpus or downloaded data missing)
//! say so in one way: [`skip`] prints `SKIP suite: why` on standard error and, when
//! `PHONEHOME_SKIP_LOG` names a file, appends `suite: why` to it. `scripts/test`, the README's test
//! command, sets it and lists those lines at the end of the run, so a clone where a suite did not
//! run shows it instead of passing silently. (CI makes the suites it must run fail instead of
//! skip: `PHONEHOME_*_TEST=require`.)

use std::io::Write;

/// Records that `suite` did not run (or not whole) here, and why.
pub fn skip(suite: &str, why: &str) {
    let line = format!("{suite}: {why}");
    eprintln!("SKIP {line}");
    if let Some(path) = std::env::var_os("PHONEHOME_SKIP_LOG") {
        // One short append per line: concurrent test processes do not interleave within it.
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

/// `../shared/corpus/real` beside the repository, if present; else `None`, recorded as a skip
/// of `suite`.
pub fn real_corpus(suite: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/real");
    if p.is_dir() {
        Some(p)
    } else {
        skip(suite, "../shared/corpus/real is absent (the real-capture corpus)");
        None
    }
}
