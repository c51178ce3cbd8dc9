//! `phonehome analyze`: the personal data a device sent, per destination, as a report.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use detect::variants::VariantSet;
use render::text::Style;
use report::{Analyzer, Device, Options, Report, Severity, Summary};

use crate::cli::{AnalysisArgs, AnalyzeArgs, AnalyzeFormat, ColorChoice, FailOn};
use crate::input::{RunOptions, print_stats, run_captures};

/// What [`build_report`] needs: the analysis options `analyze` and `block` share.
pub(crate) struct ReportInputs<'a> {
    /// The captures, in order.
    pub(crate) captures: &'a [PathBuf],
    /// TLS key logs.
    pub(crate) keylogs: &'a [PathBuf],
    /// Profile, entity file, geo data.
    pub(crate) analysis: &'a AnalysisArgs,
    /// Identifiers unmasked.
    pub(crate) reveal: bool,
    /// Also scan server-to-client streams.
    pub(crate) scan_responses: bool,
    /// Compute the captures' SHA-256.
    pub(crate) hash: bool,
    /// Keep only what this app sent (`--app`).
    pub(crate) app: Option<&'a str>,
    /// Keep every connection in the report (`Report::flows`, the Parquet `flows` table).
    pub(crate) keep_flows: bool,
}

impl<'a> ReportInputs<'a> {
    /// A report as a list or a comparison reads it (`block`, `diff`): identifiers masked,
    /// responses not scanned, captures hashed.
    pub(crate) fn for_reading(
        captures: &'a [PathBuf],
        keylogs: &'a [PathBuf],
        analysis: &'a AnalysisArgs,
    ) -> Self {
        Self {
            captures,
            keylogs,
            analysis,
            reveal: false,
            scan_responses: false,
            hash: true,
            app: None,
            keep_flows: false,
        }
    }
}

/// A finished report and what reading the captures gave.
pub(crate) struct Built {
    /// The attributed report.
    pub(crate) report: Report,
    /// Pipeline counters.
    pub(crate) stats: pipeline::Stats,
    /// Analyzer counters.
    pub(crate) astats: report::AnalyzerStats,
    /// True if a capture could not be read completely.
    pub(crate) errored: bool,
    /// True when the geo data has countries.
    pub(crate) has_country: bool,
}

/// What an analysis starts from: the analyzer (with the compiled profile), the device, and the
/// entity database and geo data, loading on threads meanwhile.
pub(crate) struct Prepared {
    pub(crate) analyzer: Analyzer,
    pub(crate) device: Option<Device>,
    entities: Entities,
    geo: std::thread::JoinHandle<Result<report::geo::Geo, report::geo::GeoError>>,
}

/// The entity database and geo data, loaded.
pub(crate) struct Data {
    pub(crate) entities: report::attribution::Entities,
    pub(crate) geo: report::geo::Geo,
}

impl Prepared {
    /// Waits for the entity database and the geo data; `Err(code)` after printing why.
    pub(crate) fn data(
        entities: Entities,
        geo: std::thread::JoinHandle<Result<report::geo::Geo, report::geo::GeoError>>,
    ) -> anyhow::Result<Result<Data, ExitCode>> {
        let geo = match geo.join() {
            Ok(Ok(geo)) => geo,
            Ok(Err(e)) => {
                eprintln!("phonehome: {e}");
                return Ok(Err(ExitCode::from(2)));
            }
            Err(_) => anyhow::bail!("loading the geo data failed"),
        };
        let entities = match entities {
            Entities::Ready(e) => e,
            Entities::Loading(t) => {
                match t.join().map_err(|_| anyhow::anyhow!("loading the entity database failed"))? {
                    Ok(e) => e,
                    Err(e) => {
                        eprintln!("phonehome: {e}");
                        return Ok(Err(ExitCode::from(2)));
                    }
                }
            }
        };
        Ok(Ok(Data { entities, geo }))
    }

    /// The analyzer and device, and the data still loading.
    #[allow(clippy::type_complexity)]
    pub(crate) fn split(
        self,
    ) -> (
        Analyzer,
        Option<Device>,
        Entities,
        std::thread::JoinHandle<Result<report::geo::Geo, report::geo::GeoError>>,
    ) {
        (self.analyzer, self.device, self.entities, self.geo)
    }
}

/// Compiles (or reads from the cache) the profile, starts loading the entity database and geo
/// data on threads, and makes the analyzer; `Err(code)` after printing why (a bad profile or
/// entity file).
pub(crate) fn prepare(
    analysis: &AnalysisArgs,
    reveal: bool,
    scan_responses: bool,
    files: Vec<String>,
) -> Result<Prepared, ExitCode> {
    // The compiled profile (items, variants, matcher) comes from the cache when this profile was
    // compiled before (`detect::compiled`): start-up in milliseconds instead of a quarter second.
    let (set, matcher, location, region, device) = match analysis.profile.as_deref() {
        None => (VariantSet::default(), None, None, None, None),
        Some(path) => {
            let cache = if analysis.no_cache { None } else { detect::compiled::default_dir() };
            let c = match detect::compiled::load(path, cache.as_deref()) {
                Ok((c, _)) => c,
                Err(e) => {
                    eprintln!("phonehome: {e}");
                    return Err(ExitCode::from(2));
                }
            };
            for w in &c.warnings {
                eprintln!("phonehome: warning: {w}");
            }
            let region = c.country.as_deref().and_then(|c| c.parse().ok());
            let device = Device {
                name: c.name,
                country: c.country,
                manufacturer: c.manufacturer,
                profile: Some(path.display().to_string()),
            };
            (c.set, c.matcher, c.location, region, Some(device))
        }
    };
    // The built-in entity database parses on a thread while the captures are read; a user's
    // file is read now, so that a bad one is reported before the captures are.
    let entities = match analysis.data.entities.as_deref() {
        None => Entities::Loading(std::thread::spawn(|| {
            report::attribution::Entities::load_default(None)
        })),
        Some(path) => Entities::Ready(super::load_entities(Some(path))?),
    };
    let options = Options {
        reveal,
        scan_responses,
        files,
        devices: Vec::new(),
        device: analysis.device.clone(),
        heuristic: detect::heuristic::Options { region },
        keep_flows: false,
    };
    // The geo data loads on a thread while the captures are read: it is only needed for the report.
    // The built-in country table decodes on another (lookups wait for it; a run with nothing to
    // look up does not).
    let (geo_db, no_geo) = (analysis.data.geo_db.clone(), analysis.data.no_geo);
    let geo = std::thread::spawn(move || {
        if no_geo {
            return Ok(report::geo::Geo::none());
        }
        let geo = report::geo::Geo::open_default(geo_db.as_deref());
        if geo.as_ref().is_ok_and(report::geo::Geo::uses_builtin) {
            std::thread::spawn(report::geo::warm_builtin);
        }
        geo
    });
    let analyzer = Analyzer::new(set, matcher, location, options);
    Ok(Prepared { analyzer, device, entities, geo })
}

/// Runs the analysis exactly as `phonehome analyze` does; `Err(code)` after printing why (a bad
/// profile, entity file or geo database).
pub(crate) fn build_report(i: &ReportInputs<'_>) -> anyhow::Result<Result<Built, ExitCode>> {
    let files = i.captures.iter().map(|p| p.display().to_string()).collect();
    let prepared = match prepare(i.analysis, i.reveal, i.scan_responses, files) {
        Ok(p) => p,
        Err(code) => return Ok(Err(code)),
    };
    let (mut analyzer, device, entities, geo) = prepared.split();
    analyzer.keep_flows(i.keep_flows);
    let run = run_captures(
        i.captures,
        analyzer,
        RunOptions {
            hash: i.hash,
            keep_responses_coded: !i.scan_responses,
            keylogs: i.keylogs.to_vec(),
        },
    );
    let (mut report, astats) = run.observer.into_report();
    let Data { entities, geo } = match Prepared::data(entities, geo)? {
        Ok(d) => d,
        Err(code) => return Ok(Err(code)),
    };
    report.captures = run.captures;
    for c in &mut report.captures {
        c.device.clone_from(&i.analysis.device);
    }
    report.coverage.secrets = run.secrets;
    report.device = device;
    if let Some(app) = i.app {
        report.keep_app(app);
    }
    report.attribute(&entities, &geo);
    Ok(Ok(Built {
        report,
        stats: run.stats,
        astats,
        errored: run.errored,
        has_country: geo.has_country(),
    }))
}

pub(crate) fn run(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out {
        return super::batch::run(args, out);
    }
    if let Some(d) = args.input.captures.iter().find(|c| c.is_dir()) {
        eprintln!(
            "phonehome: {} is a folder: `--out DIR` analyses each capture in it, one report each",
            d.display()
        );
        return Ok(ExitCode::from(2));
    }
    let format = format_of(args);
    if format == AnalyzeFormat::Parquet {
        eprintln!("phonehome: --format parquet writes tables into a folder: give `--out DIR`");
        return Ok(ExitCode::from(2));
    }
    let inputs = ReportInputs {
        captures: &args.input.captures,
        keylogs: &args.input.keylogs,
        analysis: &args.analysis,
        reveal: args.report.reveal,
        scan_responses: args.report.scan_responses,
        hash: !args.report.no_hash,
        app: args.app.as_deref(),
        keep_flows: false,
    };
    let Built { report, stats, astats, errored, has_country } = match build_report(&inputs)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let rendered = render(&report, format, args, has_country);
    match &args.output {
        None => {
            let mut out = io::stdout().lock();
            out.write_all(rendered.as_bytes())?;
            out.flush()?;
        }
        Some(path) => {
            write_file(path, &rendered)?;
            let summary = Summary::of(&report);
            eprintln!("{}", summary.headline);
            eprintln!("phonehome: report written to {}", path.display());
        }
    }
    if args.input.stats {
        print_stats(&stats, astats.counters());
    }
    Ok(exit_code(&report, errored, args.report.fail_on))
}

/// The format asked for, else the one the output file's extension names, else text.
fn format_of(args: &AnalyzeArgs) -> AnalyzeFormat {
    format_for(args.format, args.output.as_deref())
}

/// The format asked for, else the one `output`'s extension names, else text.
pub(crate) fn format_for(format: Option<AnalyzeFormat>, output: Option<&Path>) -> AnalyzeFormat {
    if let Some(f) = format {
        return f;
    }
    let ext = output.and_then(Path::extension).and_then(|e| e.to_str());
    match ext.map(str::to_ascii_lowercase).as_deref() {
        Some("json") => AnalyzeFormat::Json,
        Some("md" | "markdown") => AnalyzeFormat::Md,
        Some("html" | "htm") => AnalyzeFormat::Html,
        _ => AnalyzeFormat::Text,
    }
}

fn render(report: &Report, format: AnalyzeFormat, args: &AnalyzeArgs, has_country: bool) -> String {
    render_as(report, format, args.output.is_none(), args.report.color, has_country)
}

/// The report in `format`; text is coloured and fitted when `to_stdout` and standard output is
/// a terminal (as `color` allows).
pub(crate) fn render_as(
    report: &Report,
    format: AnalyzeFormat,
    to_stdout: bool,
    color: ColorChoice,
    has_country: bool,
) -> String {
    match format {
        AnalyzeFormat::Text => {
            let to_terminal = to_stdout && io::stdout().is_terminal();
            let color = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
            };
            let width = if to_terminal { terminal_width() } else { Style::default().width };
            let mut out = render::text::text(report, &Style { color, width });
            if !has_country {
                out.push_str(&format!("\nNote: {}.\n", report::geo::SETUP_HINT));
            }
            out
        }
        AnalyzeFormat::Json => super::json_text(&render::json(report)),
        AnalyzeFormat::Md => render::markdown::markdown(report),
        AnalyzeFormat::Html => render::html::html(report),
        AnalyzeFormat::Eve => render::eve::eve(report),
        // Tables, not a text: `run` sends it to `--out DIR` (batch) before rendering.
        AnalyzeFormat::Parquet => String::new(),
    }
}

/// Columns of the terminal on standard output (`COLUMNS` first, as shells set it), 100 when
/// unknown, never under 60.
pub(crate) fn terminal_width() -> usize {
    let from_env = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok());
    let from_tty = terminal_size::terminal_size().map(|(w, _)| usize::from(w.0));
    from_env.or(from_tty).unwrap_or(100).max(60)
}

pub(crate) fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
}

/// 2 when a capture could not be read completely; 1 when a finding at or above `fail_on` (any
/// finding without it) exists; 0 otherwise.
pub(crate) fn exit_code(report: &Report, errored: bool, fail_on: Option<FailOn>) -> ExitCode {
    ExitCode::from(exit_status(report, errored, fail_on))
}

/// [`exit_code`] as a number.
pub(crate) fn exit_status(report: &Report, errored: bool, fail_on: Option<FailOn>) -> u8 {
    if errored {
        return 2;
    }
    let threshold = match fail_on {
        None | Some(FailOn::Info) => Severity::Info,
        Some(FailOn::Low) => Severity::Low,
        Some(FailOn::Medium) => Severity::Medium,
        Some(FailOn::High) => Severity::High,
        Some(FailOn::Critical) => Severity::Critical,
    };
    u8::from(report.findings.iter().any(|f| f.severity >= threshold))
}

/// The entity database, loaded or being loaded.
pub(crate) enum Entities {
    Ready(report::attribution::Entities),
    Loading(
        std::thread::JoinHandle<
            Result<report::attribution::Entities, report::attribution::EntitiesError>,
        >,
    ),
}
