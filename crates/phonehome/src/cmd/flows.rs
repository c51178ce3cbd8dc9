//! `phonehome flows`: one row per flow, in order of first packet, written as flows end.
//!
//! Records leave memory as they are written: a flow's record waits in a reorder window of at most
//! [`MAX_REORDER`] records (ordered by flow id, the order of first packets) and is written when
//! the window is full or the run ends. Output is in flow-id order unless a flow stays open while
//! more than [`MAX_REORDER`] flows opened after it end: its row then comes when it ends, and the
//! run counts it (`flows.out_of_order` in `--stats`). The text table's column widths come from
//! the first window (all rows of a run that fits in it).

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use pipeline::output::{FLOW_CSV_COLUMNS, FlowsTable, flow_csv, flow_json};
use pipeline::{FlowRecord, Observer};

use crate::cli::{FlowsArgs, FlowsFormat};
use crate::input::{RunOptions, print_stats, run_captures};

/// Records held for ordering, at most (about 300 bytes each with the map: 10 MiB).
pub(crate) const MAX_REORDER: usize = 32_768;

/// Writes records in flow-id order through a bounded window.
struct Ordered<W: Write> {
    format: FlowsFormat,
    out: W,
    window: BTreeMap<u64, FlowRecord>,
    /// The table's widths, once the first window was written (`None` before, or for JSONL/CSV).
    table: Option<FlowsTable>,
    /// Started writing (header done).
    started: bool,
    /// Highest flow id written so far.
    last: Option<u64>,
    /// Rows written after a higher id.
    out_of_order: u64,
    /// The first write error (a closed pipe): nothing more is written.
    error: Option<io::Error>,
}

impl<W: Write> Ordered<W> {
    fn new(format: FlowsFormat, out: W) -> Self {
        Self {
            format,
            out,
            window: BTreeMap::new(),
            table: None,
            started: false,
            last: None,
            out_of_order: 0,
            error: None,
        }
    }

    /// Writes the header (sizing the table on the records waiting now).
    fn start(&mut self) -> io::Result<()> {
        self.started = true;
        match self.format {
            FlowsFormat::Table => {
                let t = FlowsTable::new(self.window.values());
                self.out.write_all(t.header().as_bytes())?;
                self.table = Some(t);
            }
            FlowsFormat::Csv => writeln!(self.out, "{}", FLOW_CSV_COLUMNS.join(","))?,
            FlowsFormat::Jsonl => {}
        }
        Ok(())
    }

    fn write(&mut self, r: &FlowRecord) -> io::Result<()> {
        if self.last.is_some_and(|l| r.info.id < l) {
            self.out_of_order += 1;
        }
        self.last = Some(self.last.map_or(r.info.id, |l| l.max(r.info.id)));
        match self.format {
            FlowsFormat::Table => {
                let row = self.table.as_ref().map(|t| t.row(r)).unwrap_or_default();
                self.out.write_all(row.as_bytes())
            }
            FlowsFormat::Jsonl => {
                serde_json::to_writer(&mut self.out, &flow_json(r))?;
                self.out.write_all(b"\n")
            }
            FlowsFormat::Csv => writeln!(self.out, "{}", flow_csv(r)),
        }
    }

    /// Writes the lowest waiting record.
    fn pop(&mut self) -> io::Result<()> {
        if !self.started {
            self.start()?;
        }
        if let Some((_, r)) = self.window.pop_first() {
            self.write(&r)?;
        }
        Ok(())
    }

    /// Writes everything left, in order, and flushes.
    fn finish(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if !self.started {
            self.start()?;
        }
        while !self.window.is_empty() {
            self.pop()?;
        }
        self.out.flush()
    }
}

impl<W: Write> Observer for Ordered<W> {
    fn flow_end(&mut self, record: &FlowRecord) {
        if self.error.is_some() {
            return;
        }
        self.window.insert(record.info.id, record.clone());
        if self.window.len() > MAX_REORDER
            && let Err(e) = self.pop()
        {
            self.error = Some(e);
        }
    }
}

pub(crate) fn run(args: &FlowsArgs) -> anyhow::Result<ExitCode> {
    let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let run = run_captures(
        &args.input.captures,
        Ordered::new(args.format, out),
        RunOptions { keylogs: args.input.keylogs.clone(), ..RunOptions::default() },
    );
    let mut ordered = run.observer;
    ordered.finish()?;
    if args.input.stats {
        print_stats(&run.stats, vec![("flows.out_of_order".into(), ordered.out_of_order)]);
    }
    Ok(super::exit(run.errored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> FlowRecord {
        let addr = |p| std::net::SocketAddr::from(([192, 0, 2, 1], p));
        FlowRecord {
            file: 0,
            info: flow::FlowInfo::new(
                id,
                flow::Transport::Tcp,
                addr(40_000),
                addr(443),
                flow::ClientBy::Syn,
                capture::Timestamp(0),
            ),
            protocol: proto::AppProto::Other,
            name: None,
            name_source: pipeline::NameSource::None,
            encrypted: false,
            tls_version: None,
            alpn: Vec::new(),
            cert: None,
            dns_chain: Vec::new(),
            events: 0,
            decryption: None,
            app: None,
        }
    }

    fn ids(out: &[u8]) -> Vec<u64> {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["flow"].as_u64().unwrap()
            })
            .collect()
    }

    #[test]
    fn records_come_out_in_id_order_through_a_bounded_window() {
        let mut o = Ordered::new(FlowsFormat::Jsonl, Vec::new());
        // Flows end in reverse order within each block of 1,000: all reordered.
        for block in 0..5u64 {
            for k in (0..1000u64).rev() {
                o.flow_end(&record(block * 1000 + k));
            }
        }
        o.finish().unwrap();
        assert_eq!(ids(&o.out), (0..5000).collect::<Vec<_>>());
        assert_eq!(o.out_of_order, 0);
    }

    #[test]
    fn a_flow_open_past_the_window_is_written_late_and_counted() {
        let mut o = Ordered::new(FlowsFormat::Jsonl, Vec::new());
        for id in 1..=(MAX_REORDER as u64 + 10) {
            o.flow_end(&record(id));
        }
        assert!(o.window.len() <= MAX_REORDER, "the window stays bounded");
        o.flow_end(&record(0));
        o.finish().unwrap();
        let got = ids(&o.out);
        assert_eq!(got.len(), MAX_REORDER + 11);
        assert_eq!(o.out_of_order, 1);
        assert_eq!(got[..10], (1..=10).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn the_table_is_sized_on_the_first_window() {
        let mut o = Ordered::new(FlowsFormat::Table, Vec::new());
        for id in [3, 1, 2] {
            o.flow_end(&record(id));
        }
        o.finish().unwrap();
        let text = String::from_utf8(o.out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("FLOW"));
        let first: Vec<&str> = lines[1..].iter().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(first, ["1", "2", "3"]);
    }
}
