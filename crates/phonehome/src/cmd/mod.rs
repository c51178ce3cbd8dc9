//! One module per command.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod analyze;
pub(crate) mod batch;
pub(crate) mod block;
pub(crate) mod diff;
mod events;
pub(crate) mod fleet;
mod flows;
pub(crate) mod guard;
mod guard_stats;
mod lookup;
mod profile;
pub(crate) mod vpn;
mod watch;

/// Runs the chosen command.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Events(a) => events::run(&a),
        Command::Flows(a) => flows::run(&a),
        Command::Analyze(a) => analyze::run(&a),
        Command::Block(a) => block::run(&a),
        Command::Diff(a) => diff::run(&a),
        Command::Fleet(a) => fleet::run(&a),
        Command::Guard(a) => guard::run(&a),
        Command::Profile(c) => profile::run(&c),
        Command::Lookup(a) => lookup::run(&a),
        Command::Watch(a) => watch::run(&a),
        Command::Vpn(a) => vpn::run(&a),
    }
}

/// A JSON document as the commands write it: indented, ending with a newline.
pub(crate) fn json_text(doc: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}

/// Exit code for a run that may have had unreadable input.
pub(crate) fn exit(errored: bool) -> ExitCode {
    if errored { ExitCode::from(2) } else { ExitCode::SUCCESS }
}

/// The built-in entity database, plus the user's file when given; on error prints it and gives
/// exit code 2.
pub(crate) fn load_entities(
    path: Option<&std::path::Path>,
) -> Result<report::attribution::Entities, ExitCode> {
    report::attribution::Entities::load_default(path).map_err(|e| {
        eprintln!("phonehome: {e}");
        ExitCode::from(2)
    })
}

/// Loads a profile, printing its warnings; on error prints it and gives exit code 2.
pub(crate) fn load_profile(path: &std::path::Path) -> Result<detect::profile::Profile, ExitCode> {
    match detect::profile::Profile::load(path) {
        Ok(p) => {
            for w in &p.warnings {
                eprintln!("phonehome: warning: {w}");
            }
            Ok(p)
        }
        Err(e) => {
            eprintln!("phonehome: {e}");
            Err(ExitCode::from(2))
        }
    }
}
