//! Compiles ip-location-db's `geo-whois-asn-country` numeric CSVs into the country table built
//! into phonehome (`report::geo::builtin`), then decodes it back as a check. Run by
//! `scripts/geo-country.sh`:
//!
//! ```text
//! cargo run --release -p report --example geo-country-compile -- IPV4-NUM.csv IPV6-NUM.csv OUT.bin.gz
//! ```
//!
//! Exit status: 0 on success, 1 when the CSVs cannot be compiled or the table not written or
//! read back, 64 on bad usage.

use std::process::ExitCode;

use report::geo::builtin;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [v4, v6, out] = args.as_slice() else {
        eprintln!("usage: geo-country-compile IPV4-NUM.csv IPV6-NUM.csv OUT.bin.gz");
        return ExitCode::from(64);
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let result = (|| -> Result<(usize, usize, usize), String> {
        let table = builtin::compile(&read(v4)?, &read(v6)?)?;
        std::fs::write(out, &table).map_err(|e| format!("{out}: {e}"))?;
        let t = builtin::Table::decode(&table).map_err(|b| format!("{out}: read back: {}", b.0))?;
        let (n4, n6) = t.ranges();
        Ok((n4, n6, table.len()))
    })();
    match result {
        Ok((n4, n6, len)) => {
            eprintln!("{out}: {n4} IPv4 and {n6} IPv6 ranges, {len} bytes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("geo-country-compile: {e}");
            ExitCode::FAILURE
        }
    }
}
