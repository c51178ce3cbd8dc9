//! Reading the captures of one run: open each, feed the pipeline, report per-file problems.

use std::path::Path;

use capture::CaptureReader;
use pipeline::{Config, Observer, Pipeline, Stats};

/// Outcome of reading every capture of a run.
pub(crate) struct RunOutcome<O> {
    /// The observer, with what it gathered.
    pub(crate) observer: O,
    /// Counters of the run.
    pub(crate) stats: Stats,
    /// True if any capture could not be read completely (exit code 2).
    pub(crate) errored: bool,
}

/// Runs the pipeline over `paths` in order. Errors name the file and the byte offset; what could be
/// read before an error is still processed and reported.
pub(crate) fn run_captures<O: Observer>(paths: &[impl AsRef<Path>], observer: O) -> RunOutcome<O> {
    let mut pipeline = Pipeline::new(Config::default(), observer);
    let mut errored = false;
    for (index, path) in paths.iter().enumerate() {
        let path = path.as_ref();
        let shown = path.display();
        let mut reader = match CaptureReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("phonehome: {shown}: {e}");
                errored = true;
                continue;
            }
        };
        let result = pipeline.run(index, &mut reader);
        for w in reader.warnings() {
            eprintln!("phonehome: warning: {shown}: at byte offset {}: {}", w.offset, w.message);
        }
        if let Err(e) = result {
            eprintln!("phonehome: {shown}: {e}");
            errored = true;
        }
    }
    let (observer, stats) = pipeline.finish();
    RunOutcome { observer, stats, errored }
}

/// Prints the run's counters, then `extra` ones (a later stage's), on standard error, one
/// `name value` per line; zero counters are left out, except the first of each stage so every
/// stage shows it ran.
pub(crate) fn print_stats(stats: &Stats, extra: Vec<(String, u64)>) {
    let mut counters = stats.counters();
    counters.extend(extra);
    let width = counters.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    eprintln!("phonehome: stats");
    let mut last_stage = "";
    for (name, value) in &counters {
        let stage = name.split('.').next().unwrap_or("");
        if *value != 0 || stage != last_stage {
            eprintln!("  {name:<width$}  {value}");
        }
        last_stage = stage;
    }
}
