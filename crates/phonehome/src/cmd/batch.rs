//! `phonehome analyze --out DIR`: many captures, one report each, on every core.
//!
//! Each capture (or each directory's captures, and each row of a manifest) is analysed on its
//! own, exactly as `phonehome analyze CAPTURE --device NAME` would analyse it, and its report is
//! written to `DIR/<name>.<ext>` (`json` unless `--format` says otherwise). `--jobs N` runs N
//! captures at once (default: every core); each job is one synchronous analysis with its own
//! bounded memory, so N jobs take at most N times one job's. The reports do not depend on N or on
//! the order jobs finish in.
//!
//! A manifest (`--manifest FILE`, or `manifest.csv` in a directory given as input) is CSV with a
//! header naming its columns: `capture` (a path, relative to the manifest's folder), and any of
//! `device`, `model`, `firmware`. Its rows label their captures (the device names every finding;
//! model and firmware go to the report's `captures`); a capture it does not list is analysed
//! unlabelled, and a row whose capture was not given on the command line adds it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use report::Summary;

use super::analyze::{Built, ReportInputs, build_report, exit_status, format_for, render_as};
use crate::cli::{AnalysisArgs, AnalyzeArgs, AnalyzeFormat};

/// Most rows a manifest may have.
pub(crate) const MAX_MANIFEST_ROWS: usize = 100_000;
/// Longest manifest line, in bytes.
const MAX_MANIFEST_LINE: usize = 8192;
/// The file name a directory's manifest has.
pub(crate) const MANIFEST_NAME: &str = "manifest.csv";

/// What a manifest says of one capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Labels {
    pub(crate) device: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) firmware: Option<String>,
}

/// A manifest: labels by capture path, in file order.
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    pub(crate) rows: Vec<(PathBuf, Labels)>,
}

/// Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `""` for a quote).
fn csv_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') if cur.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, '"') => return Err("a quote inside an unquoted field"),
            (false, ',') => {
                fields.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed");
    }
    fields.push(cur);
    Ok(fields)
}

impl Manifest {
    /// Reads a manifest; errors name the file and line.
    pub(crate) fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the manifest: {e}", path.display()))?;
        let text = String::from_utf8(text)
            .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text: {e}", path.display()))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|(line, why)| anyhow::anyhow!("{}:{line}: {why}", path.display()))
    }

    /// Parses manifest text; paths are taken relative to `base`. `Err((line, why))`.
    pub(crate) fn parse(text: &str, base: &Path) -> Result<Self, (usize, String)> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let (n, header) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()).ok_or((
            1,
            "the manifest is empty: a header line (capture,device,model,firmware) is needed"
                .to_owned(),
        ))?;
        let names: Vec<String> = csv_fields(header)
            .map_err(|e| (n, e.to_owned()))?
            .into_iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let col = |name: &str| names.iter().position(|h| h == name);
        let capture =
            col("capture").ok_or((n, format!("no `capture` column in the header {header:?}")))?;
        if let Some(unknown) = names
            .iter()
            .find(|h| !matches!(h.as_str(), "capture" | "device" | "model" | "firmware"))
        {
            return Err((
                n,
                format!("unknown column {unknown:?} (capture, device, model, firmware)"),
            ));
        }
        let (device, model, firmware) = (col("device"), col("model"), col("firmware"));
        let mut rows = Vec::new();
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            if line.len() > MAX_MANIFEST_LINE {
                return Err((n, format!("a line longer than {MAX_MANIFEST_LINE} bytes")));
            }
            if rows.len() == MAX_MANIFEST_ROWS {
                return Err((n, format!("more than {MAX_MANIFEST_ROWS} rows")));
            }
            let f = csv_fields(line).map_err(|e| (n, e.to_owned()))?;
            if f.len() != names.len() {
                return Err((
                    n,
                    format!("{} fields where the header has {}", f.len(), names.len()),
                ));
            }
            let get = |i: Option<usize>| {
                i.and_then(|i| f.get(i)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
            };
            let Some(path) = get(Some(capture)) else {
                return Err((n, "an empty capture".to_owned()));
            };
            let labels = Labels { device: get(device), model: get(model), firmware: get(firmware) };
            rows.push((base.join(path), labels));
        }
        Ok(Self { rows })
    }
}

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
    for m in &manifests {
        for (path, l) in Manifest::read(m)?.rows {
            if !captures.contains(&path) {
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

/// The file each report is written to: the capture's file name (without its extensions) and the
/// format's extension; a name taken by an earlier capture gets `-2`, `-3`...
fn out_names(captures: &[(PathBuf, Labels)], ext: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    captures
        .iter()
        .map(|(p, _)| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("capture");
            let stem = name.split('.').next().filter(|s| !s.is_empty()).unwrap_or("capture");
            let n = seen.entry(stem.to_owned()).or_insert(0);
            *n += 1;
            if *n == 1 { format!("{stem}.{ext}") } else { format!("{stem}-{n}.{ext}") }
        })
        .collect()
}

fn extension(format: AnalyzeFormat) -> &'static str {
    match format {
        AnalyzeFormat::Json => "json",
        AnalyzeFormat::Text => "txt",
        AnalyzeFormat::Md => "md",
        AnalyzeFormat::Html => "html",
        AnalyzeFormat::Eve => "eve.json",
    }
}

/// One capture's analysis, rendered: the text, the exit status of that run alone, and its
/// verdict line.
fn one(
    args: &AnalyzeArgs,
    analysis: &AnalysisArgs,
    capture: &Path,
    labels: &Labels,
    format: AnalyzeFormat,
) -> anyhow::Result<(String, u8, String)> {
    let mut analysis = analysis.clone();
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
    };
    // A bad profile, entity file or geo database (already printed) stops every job.
    let Ok(Built { mut report, errored, has_country, .. }) = build_report(&inputs)? else {
        anyhow::bail!("{}: not analysed", capture.display());
    };
    for c in &mut report.captures {
        c.model.clone_from(&labels.model);
        c.firmware.clone_from(&labels.firmware);
    }
    let text = render_as(&report, format, false, args.report.color, has_country);
    let status = exit_status(&report, errored, args.report.fail_on);
    Ok((text, status, Summary::of(&report).headline))
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
    let names = out_names(&list, extension(format));
    let workers = args
        .jobs
        .map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from)
        .clamp(1, list.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(u8, String)>>> = Mutex::new(vec![None; list.len()]);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((capture, labels)) = list.get(i) else { break };
                    let done = one(args, &args.analysis, capture, labels, format).and_then(
                        |(text, status, headline)| {
                            super::analyze::write_file(&out.join(&names[i]), &text)?;
                            Ok((status, headline))
                        },
                    );
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
    for (((capture, labels), name), r) in list.iter().zip(&names).zip(&results) {
        let (status, headline) = r.clone().unwrap_or((2, "not analysed".to_owned()));
        worst = worst.max(status);
        let who = labels.device.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        eprintln!("{}{who}: {headline} -> {}", capture.display(), out.join(name).display());
    }
    eprintln!(
        "phonehome: {} reports written to {} ({workers} at a time)",
        list.len(),
        out.display()
    );
    Ok(ExitCode::from(worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_read_with_quotes_and_errors_name_the_line() {
        let m = Manifest::parse(
            "\u{feff}Capture,Device,Model,Firmware\r\na.pcap,redmi-1,\"Redmi 1S\",\"MIUI \"\"V5\"\"\"\n\nb.pcap,,,\n",
            Path::new("/lab"),
        )
        .unwrap();
        assert_eq!(m.rows.len(), 2);
        assert_eq!(m.rows[0].0, Path::new("/lab/a.pcap"));
        assert_eq!(
            m.rows[0].1,
            Labels {
                device: Some("redmi-1".into()),
                model: Some("Redmi 1S".into()),
                firmware: Some("MIUI \"V5\"".into())
            }
        );
        assert_eq!(m.rows[1].1, Labels::default());
        let err = |t: &str| Manifest::parse(t, Path::new(".")).unwrap_err();
        assert_eq!(err("").0, 1);
        assert_eq!(err("device\nx\n").0, 1, "no capture column");
        assert_eq!(err("capture,colour\n").0, 1, "unknown column");
        assert_eq!(err("capture,device\na.pcap,x\nb.pcap\n").0, 3, "a field short");
        assert_eq!(err("capture\n\"a.pcap\n").0, 2, "an open quote");
        assert_eq!(err("capture\na\"b\n").0, 2, "a stray quote");
        assert_eq!(err("capture,device\n,x\n").0, 2, "no capture");
    }

    #[test]
    fn report_names_are_unique_and_stable() {
        let l = Labels::default();
        let list: Vec<(PathBuf, Labels)> = ["a/x.pcap", "b/x.pcap.gz", "y.pcapng", ".z"]
            .iter()
            .map(|p| (PathBuf::from(p), l.clone()))
            .collect();
        assert_eq!(out_names(&list, "json"), ["x.json", "x-2.json", "y.json", "capture.json"]);
    }
}
