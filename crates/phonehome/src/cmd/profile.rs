//! `phonehome profile init` and `phonehome profile check P`.

use std::io::{self, Write};
use std::process::ExitCode;

use detect::profile::TEMPLATE;

use crate::cli::ProfileCommand;

pub(crate) fn run(cmd: &ProfileCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ProfileCommand::Init => {
            io::stdout().write_all(TEMPLATE.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        ProfileCommand::Check { profile, variants } => {
            let p = match super::load_profile(profile) {
                Ok(p) => p,
                Err(code) => return Ok(code),
            };
            let set = detect::variants::build(&p);
            if *variants {
                let mut out = io::BufWriter::new(io::stdout().lock());
                for v in &set.variants {
                    let item = set.item(v);
                    let hex: String = v.bytes.iter().map(|b| format!("{b:02x}")).collect();
                    let label = item.label.replace(['\t', '\n', '\r'], " ");
                    writeln!(out, "{hex}\t{}\t{label}\t{}", item.kind.as_str(), v.encoding)?;
                }
                out.flush()?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
            for item in &set.items {
                *by_kind.entry(item.kind.as_str()).or_default() += 1;
            }
            let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
            println!(
                "{}: ok: {} items ({}), {} search variants",
                profile.display(),
                set.items.len(),
                kinds.join(", "),
                set.variants.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
