//! `phonehome block`: a blocklist of the destinations a report (or captures) shows.
//!
//! Inputs are reports (`analyze --format json`, schema `phonehome.report/1`; several are merged)
//! or captures (and HAR / mitmproxy archives), analysed exactly as `analyze` does
//! ([`super::analyze::build_report`]); a JSON file with a `schema` is taken for a report, one with
//! a `log` for a HAR, and reports and captures cannot be mixed. The policy ([`guard::policy`]) selects destinations, [`guard::export`] writes them.
//! Warnings (essential names left out, allowed names) go to standard error, the list to standard
//! output or `-o`. Exit code 0 when the list was written (even empty), 2 on bad input (or a
//! report of a run that did not read all of its input); an empty list from input that was not
//! read whole is not written at all unless `--allow-partial`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use guard::export::{Header, ListFormat};
use guard::policy::Policy;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::analyze::{ReportInputs, build_report};

/// Largest report file read (256 MiB).
const MAX_REPORT_LEN: u64 = 256 << 20;
/// The schema a report must carry.
const REPORT_SCHEMA: &str = "phonehome.report/1";

/// Arguments of `phonehome block`.
#[derive(Debug, clap::Args)]
pub(crate) struct BlockArgs {
    /// Reports (`phonehome analyze --format json`), or captures to analyse first.
    #[arg(required = true, value_name = "REPORT.json|CAPTURE")]
    pub(crate) input: Vec<PathBuf>,
    /// List format: hosts, dnsmasq, unbound, rpz, adblock (AdGuard Home, Pi-hole), domains,
    /// nftables (IP sets), suricata.
    #[arg(
        long,
        value_name = "FORMAT",
        value_parser = PossibleValuesParser::new(ListFormat::NAMES)
            .try_map(|s| s.parse::<ListFormat>())
    )]
    pub(crate) format: ListFormat,
    /// Policy file (TOML): which destinations to block. Default: severity high and above.
    #[arg(long, value_name = "POLICY.toml")]
    pub(crate) policy: Option<PathBuf>,
    /// Also block names a device needs (push, updates, captive-portal checks) and local
    /// addresses; they are left out with a warning otherwise.
    #[arg(long)]
    pub(crate) force: bool,
    /// nftables and Suricata: also the resolved addresses of blocked names (by default only
    /// destinations known by address alone; a CDN address may serve other sites too).
    #[arg(long)]
    pub(crate) resolved_ips: bool,
    /// Write the list to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Write the list even when it is empty and an input could not be read whole (by default
    /// that is refused, exit code 2: an empty list from a capture that was not read is no
    /// all-clear).
    #[arg(long)]
    pub(crate) allow_partial: bool,
    /// Captures only: TLS key log for opening TLS, as for `analyze`; repeatable.
    #[arg(long = "keylog", value_name = "FILE")]
    pub(crate) keylogs: Vec<PathBuf>,
    /// Captures only: how they are analysed, as for `analyze`.
    #[command(flatten)]
    pub(crate) analysis: crate::cli::AnalysisArgs,
}

/// The reports to select from, and the header's sources.
struct Inputs {
    reports: Vec<Value>,
    sources: Vec<(String, Option<String>)>,
    errored: bool,
}

pub(crate) fn run(args: &BlockArgs) -> anyhow::Result<ExitCode> {
    let mut policy = match &args.policy {
        None => Policy::default(),
        Some(path) => match Policy::load(path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("phonehome: {e}");
                return Ok(ExitCode::from(2));
            }
        },
    };
    policy.force |= args.force;
    let inputs = match read_inputs(args)? {
        Ok(i) => i,
        Err(code) => return Ok(code),
    };
    let selection = policy.select(&inputs.reports);
    if inputs.errored && selection.entries.is_empty() && !args.allow_partial {
        eprintln!(
            "phonehome: not writing an empty list: an input could not be read whole (see above), \
             so an empty list says nothing; --allow-partial writes it anyway"
        );
        return Ok(ExitCode::from(2));
    }
    for w in &selection.warnings {
        eprintln!("phonehome: warning: {w}");
    }
    let mut notes = vec![format!(
        "Policy: {} ({})",
        args.policy.as_ref().map_or_else(|| "default".into(), |p| p.display().to_string()),
        policy.describe()
    )];
    if !selection.skipped_essential.is_empty() {
        notes.push(format!(
            "Left out (the device needs them; --force to include): {}",
            selection.skipped_essential.join(", ")
        ));
    }
    let header = Header {
        generator: format!("phonehome {}", env!("CARGO_PKG_VERSION")),
        sources: inputs.sources,
        notes,
        resolved_ips: args.resolved_ips,
    };
    let text = guard::export::write(args.format, &selection.entries, &header);
    let by_ip = selection.entries.iter().filter(|e| e.name.is_none()).count();
    if by_ip > 0 && args.format.is_name_list() {
        eprintln!(
            "phonehome: warning: {by_ip} destination(s) known only by address are comments in this \
             list; use --format nftables or suricata to block them"
        );
    }
    match &args.output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        Some(path) => std::fs::write(path, &text)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?,
    }
    if selection.entries.is_empty() {
        eprintln!("phonehome: nothing to block under this policy ({})", policy.describe());
    } else {
        let to = args.output.as_ref().map_or_else(String::new, |p| format!(" to {}", p.display()));
        eprintln!(
            "phonehome: {} {} entr{} written{to}",
            selection.entries.len(),
            args.format,
            if selection.entries.len() == 1 { "y" } else { "ies" }
        );
    }
    Ok(super::exit(inputs.errored))
}

/// Reads the inputs as reports, or analyses them as captures.
fn read_inputs(args: &BlockArgs) -> anyhow::Result<Result<Inputs, ExitCode>> {
    let mut reports = Vec::new();
    let mut captures = Vec::new();
    for path in &args.input {
        match read_report(path) {
            Ok(Some(r)) => reports.push((path, r)),
            Ok(None) => captures.push(path.clone()),
            Err(e) => {
                eprintln!("phonehome: {e}");
                return Ok(Err(ExitCode::from(2)));
            }
        }
    }
    if !reports.is_empty() && !captures.is_empty() {
        eprintln!(
            "phonehome: {} is a report but {} is not: give reports or captures, not both",
            reports[0].0.display(),
            captures[0].display()
        );
        return Ok(Err(ExitCode::from(2)));
    }
    if captures.is_empty() {
        let mut sources = Vec::new();
        let mut values = Vec::new();
        let mut errored = false;
        for (path, (value, sha)) in reports {
            // A report of a run that could not read all of its input (older reports have no
            // `complete`: they are taken as complete).
            if value["summary"]["complete"] == Value::Bool(false) {
                let unread = value["summary"]["unread"].as_array().cloned().unwrap_or_default();
                let why: Vec<&str> = unread.iter().filter_map(Value::as_str).collect();
                eprintln!(
                    "phonehome: {}: the report's run did not read all of its input ({})",
                    path.display(),
                    why.join("; ")
                );
                errored = true;
            }
            sources.push((format!("report {}", path.display()), Some(sha)));
            sources.extend(capture_sources(&value));
            values.push(value);
        }
        return Ok(Ok(Inputs { reports: values, sources, errored }));
    }
    let built =
        match build_report(&ReportInputs::for_reading(&captures, &args.keylogs, &args.analysis))? {
            Ok(b) => b,
            Err(code) => return Ok(Err(code)),
        };
    let value = render::json(&built.report);
    let sources = capture_sources(&value);
    Ok(Ok(Inputs { reports: vec![value], sources, errored: built.errored }))
}

/// `("capture demo.pcapng", sha256)` for each capture a report names.
fn capture_sources(report: &Value) -> Vec<(String, Option<String>)> {
    let captures = report.get("captures").and_then(Value::as_array);
    captures
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let path = c.get("path").and_then(Value::as_str)?;
            let sha = c.get("sha256").and_then(Value::as_str).map(str::to_owned);
            Some((format!("capture {path}"), sha))
        })
        .collect()
}

/// `Ok(None)` when `path` is not JSON (a capture) or is a HAR file; the report and its SHA-256
/// when it is one; an error naming the file when it is JSON but neither.
pub(crate) fn read_report(path: &Path) -> anyhow::Result<Option<(Value, String)>> {
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let mut data = Vec::new();
    file.take(MAX_REPORT_LEN + 1)
        .read_to_end(&mut data)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    if data.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Ok(None);
    }
    if data.len() as u64 > MAX_REPORT_LEN {
        anyhow::bail!("{}: report larger than {MAX_REPORT_LEN} bytes", path.display());
    }
    let value: Value = serde_json::from_slice(&data).map_err(|e| {
        anyhow::anyhow!("{}: not a phonehome report or HAR file: {e}", path.display())
    })?;
    if value.get("log").is_some() && value.get("schema").is_none() {
        return Ok(None); // a HAR file: analysed like a capture
    }
    let schema = value.get("schema").and_then(Value::as_str);
    if schema != Some(REPORT_SCHEMA) {
        anyhow::bail!(
            "{}: not a phonehome report (schema {}, expected {REPORT_SCHEMA})",
            path.display(),
            schema.map_or_else(|| "missing".into(), |s| format!("`{s}`"))
        );
    }
    let sha = const_hex(&Sha256::digest(&data));
    Ok(Some((value, sha)))
}

fn const_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
