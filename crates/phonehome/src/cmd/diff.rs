//! `phonehome diff BEFORE AFTER`: what changed between two runs (`report::diff`), each a report
//! (`analyze --format json`) or captures analysed here as `analyze` would, with the same flags.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use report::Severity;
use report::diff::{Run, Thresholds, compare};
use serde_json::Value;

use crate::cli::{AnalysisArgs, AnalyzeFormat};
use crate::cmd::analyze::{ReportInputs, build_report, format_for, write_file};

#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The run before: a report (`phonehome analyze --format json`) or a capture to analyse.
    #[arg(value_name = "BEFORE")]
    pub(crate) before: PathBuf,
    /// The run after, the same way.
    #[arg(value_name = "AFTER")]
    pub(crate) after: PathBuf,
    /// Output format. Default: from the extension of `--output` (`.json`, `.md`, `.html`), else
    /// text.
    #[arg(long, value_enum)]
    pub(crate) format: Option<DiffFormat>,
    /// Write the comparison to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Exit with code 1 only when the after-run adds personal data at or above a severity (data
    /// newly sent, or sent worse: `new-high` for a maker's CI), or `worse`: on any change for
    /// the worse. Default: 1 on any change, as diff(1).
    #[arg(long, value_enum, value_name = "WHEN")]
    pub(crate) fail_on: Option<DiffFailOn>,
    /// A volume or occurrence rate (per minute of capture) must change by more than this many
    /// percent to be reported.
    #[arg(long, value_name = "PERCENT", default_value_t = 50.0)]
    pub(crate) rate_threshold: f64,
    /// A volume must also change by more than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    pub(crate) min_bytes: u64,
    /// Captures only: TLS key log for opening TLS, as for `analyze`; repeatable.
    #[arg(long = "keylog", value_name = "FILE")]
    pub(crate) keylogs: Vec<PathBuf>,
    /// Captures only: how they are analysed, as for `analyze`.
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    /// For a terminal: the two runs, then every change worst first.
    Text,
    /// One JSON document (schema `phonehome.diff/1`, described by schema/diff.schema.json).
    Json,
    /// Markdown, for a bug report or a changelog.
    Md,
    /// One self-contained HTML page, the two runs side by side.
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFailOn {
    /// Any personal data added.
    NewInfo,
    /// Added at low or above.
    NewLow,
    /// Added at medium or above.
    NewMedium,
    /// Added at high or above.
    NewHigh,
    /// Added at critical.
    NewCritical,
    /// Any change for the worse.
    Worse,
}

/// One side as a report's JSON; `Err(code)` after printing why. `errored`: a capture could not
/// be read whole.
fn side(
    path: &Path,
    args: &DiffArgs,
    errored: &mut bool,
) -> anyhow::Result<Result<Value, ExitCode>> {
    if let Some((value, _sha)) = crate::cmd::block::read_report(path)? {
        if value["summary"]["complete"] == Value::Bool(false) {
            eprintln!(
                "phonehome: {}: the report's run did not read all of its input: what it did not \
                 read is not compared",
                path.display()
            );
        }
        return Ok(Ok(value));
    }
    let captures = [path.to_path_buf()];
    match build_report(&ReportInputs::for_reading(&captures, &args.keylogs, &args.analysis))? {
        Ok(b) => {
            *errored |= b.errored;
            Ok(Ok(render::json(&b.report)))
        }
        Err(code) => Ok(Err(code)),
    }
}

pub(crate) fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    if !(args.rate_threshold.is_finite() && args.rate_threshold >= 0.0) {
        eprintln!("phonehome: diff: --rate-threshold must be a percentage, 0 or more");
        return Ok(ExitCode::from(2));
    }
    let mut errored = false;
    let mut runs = Vec::new();
    for path in [&args.before, &args.after] {
        let value = match side(path, args, &mut errored)? {
            Ok(v) => v,
            Err(code) => return Ok(code),
        };
        match Run::from_json(&path.display().to_string(), &value) {
            Ok(r) => runs.push(r),
            Err(e) => {
                eprintln!("phonehome: {}: {e}", path.display());
                return Ok(ExitCode::from(2));
            }
        }
    }
    let after = runs.pop().unwrap_or_default();
    let before = runs.pop().unwrap_or_default();
    let limits = Thresholds {
        rate: args.rate_threshold / 100.0,
        min_bytes: args.min_bytes,
        ..Thresholds::default()
    };
    let d = compare(before, after, limits);
    let format = args.format.unwrap_or(match format_for(None, args.output.as_deref()) {
        // No extension names EVE: `format_for` never gives it here.
        AnalyzeFormat::Text | AnalyzeFormat::Eve | AnalyzeFormat::Parquet => DiffFormat::Text,
        AnalyzeFormat::Json => DiffFormat::Json,
        AnalyzeFormat::Md => DiffFormat::Md,
        AnalyzeFormat::Html => DiffFormat::Html,
    });
    let rendered = match format {
        DiffFormat::Text => render::diff::text(&d),
        DiffFormat::Json => super::json_text(&render::diff::json(&d)),
        DiffFormat::Md => render::diff::markdown(&d),
        DiffFormat::Html => render::diff::html(&d),
    };
    match &args.output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(rendered.as_bytes())?;
            out.flush()?;
        }
        Some(path) => {
            write_file(path, &rendered)?;
            eprintln!("{}", render::diff::headline(&d));
            eprintln!("phonehome: comparison written to {}", path.display());
        }
    }
    if errored {
        return Ok(ExitCode::from(2));
    }
    let fails = match args.fail_on {
        None => !d.is_empty(),
        Some(DiffFailOn::Worse) => {
            d.changes.iter().any(|c| c.direction == report::diff::Direction::Worse)
        }
        Some(level) => {
            let level = match level {
                DiffFailOn::NewInfo => Severity::Info,
                DiffFailOn::NewLow => Severity::Low,
                DiffFailOn::NewMedium => Severity::Medium,
                DiffFailOn::NewHigh => Severity::High,
                DiffFailOn::NewCritical | DiffFailOn::Worse => Severity::Critical,
            };
            d.adds_at_or_above(level).next().is_some()
        }
    };
    Ok(if fails { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
