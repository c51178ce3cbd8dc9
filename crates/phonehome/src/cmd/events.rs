//! `phonehome events`: one protocol event per line, streamed as they complete.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use pipeline::output::{event_json, event_text};
use pipeline::{Context, Observer};
use proto::Event;

use crate::cli::{EventsArgs, EventsFormat};
use crate::input::{RunOptions, print_stats, run_captures};

struct Printer<W> {
    out: W,
    format: EventsFormat,
    /// First write error; once set, nothing more is written.
    error: Option<io::Error>,
}

impl<W: Write> Observer for Printer<W> {
    fn event(&mut self, ctx: &Context<'_>, event: &Event) {
        if self.error.is_some() {
            return;
        }
        let r = match self.format {
            EventsFormat::Jsonl => serde_json::to_writer(&mut self.out, &event_json(ctx, event))
                .map_err(io::Error::from)
                .and_then(|()| self.out.write_all(b"\n")),
            EventsFormat::Text => writeln!(self.out, "{}", event_text(ctx, event)),
        };
        if let Err(e) = r {
            self.error = Some(e);
        }
    }
}

pub(crate) fn run(args: &EventsArgs) -> anyhow::Result<ExitCode> {
    let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let printer = Printer { out, format: args.format, error: None };
    let run = run_captures(
        &args.input.captures,
        printer,
        RunOptions { keylogs: args.input.keylogs.clone(), ..RunOptions::default() },
    );
    let mut printer = run.observer;
    if let Some(e) = printer.error.take() {
        return Err(e.into());
    }
    printer.out.flush()?;
    if args.input.stats {
        print_stats(&run.stats, Vec::new());
    }
    Ok(super::exit(run.errored))
}
