//! `phonehome fleet`: many devices' reports (the folder `analyze --out DIR` writes, or report
//! files) as one table of devices × parties × kinds of data: which models send the IMEI to whom,
//! which send identifiers in cleartext abroad.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use report::fleet::Fleet;

use crate::cli::AnalyzeFormat;
use crate::cmd::analyze::{format_for, write_file};
use crate::cmd::block::read_report;

#[derive(Debug, clap::Args)]
pub(crate) struct FleetArgs {
    /// Reports (`phonehome analyze --format json`), or folders of them (`analyze --out DIR`
    /// writes one per capture); other files in a folder are passed over.
    #[arg(required = true, value_name = "REPORT|DIR")]
    pub(crate) inputs: Vec<PathBuf>,
    /// Output format. Default: from the extension of `--output` (`.json`, `.html`), else text.
    #[arg(long, value_enum)]
    pub(crate) format: Option<FleetFormat>,
    /// Write the summary to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FleetFormat {
    /// For a terminal: each device and what it sent to whom, then who receives what.
    Text,
    /// One JSON document (schema `phonehome.fleet/1`, described by schema/fleet.schema.json).
    Json,
    /// One self-contained HTML page: devices by parties.
    Html,
}

/// The report files an input stands for: a folder's `*.json` files (not `*.eve.json`, nor the
/// `fleet.json` that `analyze --out` writes beside them), sorted; a file itself.
fn reports(input: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !input.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(input)
        .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".json")
                && !name.ends_with(".eve.json")
                && !name.starts_with('.')
                && name != super::batch::FLEET_JSON
        })
        .collect();
    v.sort();
    Ok(v)
}

pub(crate) fn run(args: &FleetArgs) -> anyhow::Result<ExitCode> {
    let mut fleet = Fleet::default();
    let mut errored = false;
    for input in &args.inputs {
        let files = match reports(input) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("phonehome: {e}");
                errored = true;
                continue;
            }
        };
        for file in files {
            let label = file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().trim_end_matches(".json").to_owned(),
            );
            let added = match read_report(&file) {
                Ok(Some((doc, _))) => fleet.add(&label, &doc).map_err(|e| anyhow::anyhow!("{e}")),
                Ok(None) => Err(anyhow::anyhow!("not a phonehome report")),
                Err(e) => Err(e),
            };
            if let Err(e) = added {
                eprintln!("phonehome: {}: {e}", file.display());
                errored = true;
            }
        }
    }
    if fleet.devices.is_empty() {
        eprintln!("phonehome: no report could be read: nothing to summarise");
        return Ok(ExitCode::from(2));
    }
    // The output's extension names the format as for `analyze` (a fleet has no Markdown).
    let format = args.format.unwrap_or(match format_for(None, args.output.as_deref()) {
        AnalyzeFormat::Json => FleetFormat::Json,
        AnalyzeFormat::Html => FleetFormat::Html,
        _ => FleetFormat::Text,
    });
    let rendered = match format {
        FleetFormat::Text => render::fleet::text(&fleet),
        FleetFormat::Json => super::json_text(&render::fleet::json(&fleet)),
        FleetFormat::Html => render::fleet::html(&fleet),
    };
    match &args.output {
        None => print!("{rendered}"),
        Some(path) => {
            write_file(path, &rendered)?;
            eprintln!("{}", render::fleet::headline(&fleet));
            eprintln!("phonehome: fleet summary written to {}", path.display());
        }
    }
    Ok(super::exit(errored))
}
