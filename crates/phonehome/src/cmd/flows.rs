//! `phonehome flows`: one row per flow, in order of first packet.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use pipeline::output::{FLOW_CSV_COLUMNS, flow_csv, flow_json, flows_table};
use pipeline::{FlowRecord, Observer};

use crate::cli::{FlowsArgs, FlowsFormat};
use crate::input::{RunOptions, print_stats, run_captures};

/// Collects flow records; they are sorted by flow id (order of first packet) before printing, so
/// the output does not depend on when each flow happened to end. Cost: one record (~200 bytes)
/// per flow.
#[derive(Default)]
struct Collect(Vec<FlowRecord>);

impl Observer for Collect {
    fn flow_end(&mut self, record: &FlowRecord) {
        self.0.push(record.clone());
    }
}

pub(crate) fn run(args: &FlowsArgs) -> anyhow::Result<ExitCode> {
    let run = run_captures(
        &args.input.captures,
        Collect::default(),
        RunOptions { keylogs: args.input.keylogs.clone(), ..RunOptions::default() },
    );
    let mut records = run.observer.0;
    records.sort_by_key(|r| r.info.id);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match args.format {
        FlowsFormat::Table => out.write_all(flows_table(&records).as_bytes())?,
        FlowsFormat::Jsonl => {
            for r in &records {
                serde_json::to_writer(&mut out, &flow_json(r))?;
                out.write_all(b"\n")?;
            }
        }
        FlowsFormat::Csv => {
            writeln!(out, "{}", FLOW_CSV_COLUMNS.join(","))?;
            for r in &records {
                writeln!(out, "{}", flow_csv(r))?;
            }
        }
    }
    out.flush()?;
    if args.input.stats {
        print_stats(&run.stats, Vec::new());
    }
    Ok(super::exit(run.errored))
}
