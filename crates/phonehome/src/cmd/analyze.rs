//! `phonehome analyze`: the personal data a device sent, per destination.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use detect::matcher::Matcher;
use detect::variants::VariantSet;
use report::{Analyzer, Options};

use crate::cli::{AnalyzeArgs, AnalyzeFormat};
use crate::input::{print_stats, run_captures};

pub(crate) fn run(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let (set, location, region) = match &args.profile {
        None => (VariantSet::default(), None, None),
        Some(path) => {
            let p = match super::load_profile(path) {
                Ok(p) => p,
                Err(code) => return Ok(code),
            };
            let region = p.country.as_deref().and_then(|c| c.parse().ok());
            (detect::variants::build(&p), p.location, region)
        }
    };
    let matcher = if set.variants.is_empty() { None } else { Some(Matcher::from_set(&set)?) };
    let options = Options {
        reveal: args.reveal,
        scan_responses: args.scan_responses,
        files: args.input.captures.iter().map(|p| p.display().to_string()).collect(),
        heuristic: detect::heuristic::Options { region },
    };
    // The entity database and the geo data (up to ~0.25 s for the ASN table) load on a thread
    // while the captures are read: they are only needed for the report.
    let (entities_path, geo_db) = (args.entities.clone(), args.geo_db.clone());
    let attribution = std::thread::spawn(move || -> Result<_, String> {
        let entities = match &entities_path {
            None => report::attribution::Entities::builtin(),
            Some(path) => {
                report::attribution::Entities::load_with(path).map_err(|e| e.to_string())?
            }
        };
        let geo = report::geo::Geo::open_default(geo_db.as_deref()).map_err(|e| e.to_string())?;
        Ok((entities, geo))
    });
    let run = run_captures(&args.input.captures, Analyzer::new(set, matcher, location, options));
    let (mut report, astats) = run.observer.into_report();
    let (entities, geo) = match attribution.join() {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(message)) => {
            eprintln!("phonehome: {message}");
            return Ok(ExitCode::from(2));
        }
        Err(_) => anyhow::bail!("loading the entity and geo data failed"),
    };
    report.attribute(&entities, &geo);
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        AnalyzeFormat::Text => {
            out.write_all(report::render::text(&report).as_bytes())?;
            if !geo.has_country() {
                writeln!(out, "\nNote: {}.", report::geo::SETUP_HINT)?;
            }
        }
        AnalyzeFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report::render::json(&report))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    if args.input.stats {
        print_stats(&run.stats, astats.counters());
    }
    Ok(if run.errored {
        ExitCode::from(2)
    } else if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
