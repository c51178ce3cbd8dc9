//! The `phonehome` command: what a phone (or any device) sends home.
//!
//! This binary is the only place with clap and anyhow: it parses arguments, wires the library
//! crates together, prints, and picks the exit code (0 ok, 1 findings where a command says so,
//! 2 error). A broken pipe (e.g. `| head`) ends quietly with 0.

#![forbid(unsafe_code)]

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;
mod input;
mod keylog_follow;

fn main() -> ExitCode {
    let args = std::env::args_os().collect::<Vec<_>>();
    if args.len() <= 1 {
        let _ = io::stdout().write_all(cli::SHORT_USAGE.as_bytes());
        return ExitCode::SUCCESS;
    }
    let cli = cli::Cli::parse_from(args);
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phonehome: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
