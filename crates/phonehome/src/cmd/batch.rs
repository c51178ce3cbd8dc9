//! `phonehome analyze --out DIR`: many captures, one report each, on every core.
//!
//! Each capture (or each directory's captures, and each row of a manifest) is analysed on its
//! own, exactly as `phonehome analyze CAPTURE --device NAME` would analyse it, and its report is
//! written to `DIR/<name>.<ext>` (`json` unless `--format` says otherwise). `--jobs N` runs N
//! captures at once (default: every core); each job is one synchronous analysis with its own
//! bounded memory, so N jobs take at most N times one job's. The reports do not depend on N or on
//! the order jobs finish in.
//!
//! A manifest (`--manifest FILE`, or `manifest.csv` in a directory given as input;
//! [`report::fleet::Manifest`]) labels captures: the device names every finding, model and
//! firmware go to the report's `captures`; a capture it does not list is analysed unlabelled,
//! and a row whose capture was not given on the command line adds it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use report::Summary;
use report::fleet::{Fleet, Labels, Manifest};

use super::analyze::{Built, ReportInputs, build_report, exit_status, format_for, render_as};
use crate::cli::{AnalyzeArgs, AnalyzeFormat};

/// The file name a directory's manifest has.
pub(crate) const MANIFEST_NAME: &str = "manifest.csv";
/// The fleet summary written beside the reports: JSON (`phonehome.fleet/1`) and a page.
pub(crate) const FLEET_JSON: &str = "fleet.json";
/// See [`FLEET_JSON`].
pub(crate) const FLEET_HTML: &str = "fleet.html";

/// Whether `path` names a capture a directory listing should take.
fn capture_like(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    !name.starts_with('.') && name != MANIFEST_NAME && path.is_file()
}

/// The captures to analyse, with their labels: the inputs (a directory stands for the files in
/// it, sorted, and its `manifest.csv`), and the manifest's rows.
fn jobs(inputs: &[PathBuf], manifest: Option<&Path>) -> anyhow::Result<Vec<(PathBuf, Labels)>> {
    let mut captures: Vec<PathBuf> = Vec::new();
    let mut manifests: Vec<PathBuf> = manifest.map(Path::to_path_buf).into_iter().collect();
    for input in inputs {
        if input.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", input.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| capture_like(p))
                .collect();
            files.sort();
            captures.extend(files);
            let m = input.join(MANIFEST_NAME);
            if manifest.is_none() && m.is_file() {
                manifests.push(m);
            }
        } else {
            captures.push(input.clone());
        }
    }
    let mut labels: HashMap<PathBuf, Labels> = HashMap::new();
    let mut given: HashSet<PathBuf> = captures.iter().cloned().collect();
    for m in &manifests {
        for (path, l) in Manifest::read(m).map_err(anyhow::Error::msg)?.rows {
            if given.insert(path.clone()) {
                captures.push(path.clone());
            }
            labels.insert(path, l);
        }
    }
    Ok(captures
        .into_iter()
        .map(|c| {
            let l = labels.get(&c).cloned().unwrap_or_default();
            (c, l)
        })
        .collect())
}

/// The name each capture's output is written under (its file name without extensions; a name
/// taken by an earlier capture gets `-2`, `-3`...): `DIR/NAME.json`, the Parquet tables'
/// `NAME.parquet`, the device's label in the fleet summary when nothing else names it.
fn stems(captures: &[(PathBuf, Labels)]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    captures
        .iter()
        .map(|(p, _)| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("capture");
            let stem = name.split('.').next().filter(|s| !s.is_empty()).unwrap_or("capture");
            let n = seen.entry(stem.to_owned()).or_insert(0);
            *n += 1;
            if *n == 1 { stem.to_owned() } else { format!("{stem}-{n}") }
        })
        .collect()
}

/// The file a capture's report is written to (for Parquet, the tables' pattern).
fn out_name(stem: &str, format: AnalyzeFormat) -> String {
    match format {
        AnalyzeFormat::Json => format!("{stem}.json"),
        AnalyzeFormat::Text => format!("{stem}.txt"),
        AnalyzeFormat::Md => format!("{stem}.md"),
        AnalyzeFormat::Html => format!("{stem}.html"),
        AnalyzeFormat::Eve => format!("{stem}.eve.json"),
        AnalyzeFormat::Parquet => format!("*/device=*/{stem}.parquet"),
    }
}

/// One capture's analysis, written to `out/STEM.EXT` (or, as Parquet, to
/// `out/TABLE/device=…/STEM.parquet`): the exit status of that run alone, its verdict line and
/// its line of the fleet summary.
fn one(
    args: &AnalyzeArgs,
    capture: &Path,
    labels: &Labels,
    format: AnalyzeFormat,
    out: &Path,
    stem: &str,
) -> anyhow::Result<(u8, String, Fleet)> {
    let mut analysis = args.analysis.clone();
    if labels.device.is_some() {
        analysis.device.clone_from(&labels.device);
    }
    let captures = [capture.to_path_buf()];
    let inputs = ReportInputs {
        captures: &captures,
        keylogs: &args.input.keylogs,
        analysis: &analysis,
        reveal: args.report.reveal,
        scan_responses: args.report.scan_responses,
        hash: !args.report.no_hash,
        app: args.app.as_deref(),
        keep_flows: format == AnalyzeFormat::Parquet,
    };
    // A bad profile, entity file or geo database (already printed) stops every job.
    let Ok(Built { mut report, errored, has_country, .. }) = build_report(&inputs)? else {
        anyhow::bail!("{}: not analysed", capture.display());
    };
    for c in &mut report.captures {
        c.model.clone_from(&labels.model);
        c.firmware.clone_from(&labels.firmware);
    }
    if format == AnalyzeFormat::Parquet {
        let device =
            analysis.device.clone().or_else(|| report.device.as_ref().and_then(|d| d.name.clone()));
        write_parquet(&report, device.as_deref(), labels, out, stem)?;
    } else {
        let text = render_as(&report, format, false, args.report.color, has_country);
        super::analyze::write_file(&out.join(out_name(stem, format)), &text)?;
    }
    let status = exit_status(&report, errored, args.report.fail_on);
    // This capture's line of the fleet summary, from the report as its JSON says it.
    let mut fleet = Fleet::default();
    fleet.add(stem, &render::json(&report)).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((status, Summary::of(&report).headline, fleet))
}

#[cfg(feature = "parquet")]
fn write_parquet(
    report: &report::Report,
    device: Option<&str>,
    labels: &Labels,
    out: &Path,
    stem: &str,
) -> anyhow::Result<()> {
    let l = render::parquet::Labels {
        device,
        model: labels.model.as_deref(),
        firmware: labels.firmware.as_deref(),
    };
    render::parquet::write(report, &l, out, stem).map_err(anyhow::Error::msg)?;
    Ok(())
}

#[cfg(not(feature = "parquet"))]
fn write_parquet(
    _: &report::Report,
    _: Option<&str>,
    _: &Labels,
    _: &Path,
    _: &str,
) -> anyhow::Result<()> {
    anyhow::bail!("this phonehome was built without Parquet (cargo feature `parquet`)")
}

/// Runs `analyze --out DIR`: every capture on its own, `--jobs` at a time.
pub(crate) fn run(args: &AnalyzeArgs, out: &Path) -> anyhow::Result<ExitCode> {
    let format = args.format.unwrap_or(match format_for(None, args.output.as_deref()) {
        AnalyzeFormat::Text => AnalyzeFormat::Json,
        f => f,
    });
    let list = jobs(&args.input.captures, args.manifest.as_deref())?;
    if list.is_empty() {
        anyhow::bail!("no capture to analyse (an empty folder?)");
    }
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", out.display()))?;
    let stems = stems(&list);
    let workers = args
        .jobs
        .map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from)
        .clamp(1, list.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(u8, String, Fleet)>>> =
        Mutex::new((0..list.len()).map(|_| None).collect());
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((capture, labels)) = list.get(i) else { break };
                    let done = one(args, capture, labels, format, out, &stems[i]);
                    match done {
                        Ok(r) => {
                            if let Ok(mut v) = results.lock() {
                                v[i] = Some(r);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let results = results.into_inner().unwrap_or_default();
    let mut worst = 0u8;
    let mut fleet = Fleet::default();
    for (((capture, labels), stem), r) in list.iter().zip(&stems).zip(results) {
        let (status, headline, one) = r.unwrap_or((2, "not analysed".to_owned(), Fleet::default()));
        worst = worst.max(status);
        fleet.append(one);
        let who = labels.device.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        let to = out.join(out_name(stem, format));
        eprintln!("{}{who}: {headline} -> {}", capture.display(), to.display());
    }
    // The fleet summary of the run, beside the reports (`phonehome fleet` makes the same from
    // the JSON reports).
    let summary = super::json_text(&render::fleet::json(&fleet));
    super::analyze::write_file(&out.join(FLEET_JSON), &summary)?;
    super::analyze::write_file(&out.join(FLEET_HTML), &render::fleet::html(&fleet))?;
    eprintln!("{}", render::fleet::headline(&fleet));
    eprintln!(
        "phonehome: {} reports written to {} ({workers} at a time); the fleet summary in {}",
        list.len(),
        out.display(),
        out.join(FLEET_HTML).display()
    );
    Ok(ExitCode::from(worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_are_unique_and_stable() {
        let l = Labels::default();
        let list: Vec<(PathBuf, Labels)> = ["a/x.pcap", "b/x.pcap.gz", "y.pcapng", ".z"]
            .iter()
            .map(|p| (PathBuf::from(p), l.clone()))
            .collect();
        assert_eq!(stems(&list), ["x", "x-2", "y", "capture"]);
        assert_eq!(out_name("x-2", AnalyzeFormat::Eve), "x-2.eve.json");
    }
}
