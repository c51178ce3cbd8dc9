//! `analyze --out DIR --format parquet` read back with DuckDB (its Python package): the four
//! tables of a lab (three devices labelled by a manifest), hive-partitioned by device, hold
//! every finding, destination, connection and capture of the JSON reports of the same runs, with the
//! manifest's columns; and the README's question ("which devices sent an identifier in
//! cleartext to a server outside their country?") gets the same answer as from the JSON.
//!
//! Without python3 and its `duckdb` module the test is skipped visibly (`scripts/test` lists it);
//! CI installs it and sets `PHONEHOME_DUCKDB_TEST=require`.
#![cfg(feature = "parquet")]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod lab;

use lab::{Dir, phonehome, root};

/// python3 with duckdb, else `None` after recording the skip (a failure when required).
fn duckdb() -> Option<()> {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(());
    }
    assert!(
        std::env::var("PHONEHOME_DUCKDB_TEST").as_deref() != Ok("require"),
        "PHONEHOME_DUCKDB_TEST=require but python3 cannot import duckdb"
    );
    testkit::skip::skip("parquet (DuckDB)", "python3 with the duckdb package is not installed");
    None
}

/// Runs `sql` in DuckDB with `$DIR` replaced; the rows as JSON arrays.
fn query(dir: &Path, sql: &str) -> Vec<Vec<Value>> {
    let script = "import duckdb, json, sys\n\
                  rows = duckdb.connect().sql(sys.argv[1]).fetchall()\n\
                  print(json.dumps([[v if isinstance(v, (int, float, str, bool, type(None))) else str(v) for v in r] for r in rows]))\n";
    let sql = sql.replace("$DIR", dir.to_str().unwrap());
    let o = Command::new("python3").args(["-c", script, &sql]).output().expect("python3");
    assert!(o.status.success(), "{sql}\n{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn table(t: &str) -> String {
    format!("read_parquet('$DIR/{t}/*/*.parquet', hive_partitioning = true)")
}

#[test]
fn duckdb_reads_every_count_the_json_reports_have() {
    let Some(()) = duckdb() else { return };
    let dir = Dir::new("parquet");
    let d = &dir.0;
    let lab = lab::three_devices(d, "redmi b/2");
    let (pq, js) = (d.join("parquet"), d.join("json"));
    lab::analyze_lab(&lab, &pq, "parquet");
    lab::analyze_lab(&lab, &js, "json");
    // The JSON reports' counts, by device partition.
    let mut expected: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (stem, part) in [("redmi-a", "redmi-a"), ("redmi-b", "redmi_b_2"), ("mi-c", "mi-c")] {
        let r: Value =
            serde_json::from_slice(&std::fs::read(js.join(format!("{stem}.json"))).unwrap())
                .unwrap();
        let n = |k: &str| r[k].as_array().unwrap().len() as u64;
        let flows: u64 = r["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["flows"].as_u64().unwrap())
            .sum();
        expected.insert(part.to_owned(), (n("findings"), n("destinations"), flows));
        assert!(pq.join(format!("findings/device={part}/{stem}.parquet")).is_file());
    }
    let count = |t: &str| -> BTreeMap<String, u64> {
        query(&pq, &format!("select device, count(*) from {} group by device", table(t)))
            .into_iter()
            .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_u64().unwrap()))
            .collect()
    };
    let (findings, destinations, flows, captures) =
        (count("findings"), count("destinations"), count("flows"), count("captures"));
    for (part, (f, dest, fl)) in &expected {
        assert_eq!(findings.get(part), Some(f), "findings of {part}");
        assert_eq!(destinations.get(part), Some(dest), "destinations of {part}");
        assert_eq!(flows.get(part), Some(fl), "flows of {part}");
        assert_eq!(captures.get(part), Some(&1), "captures of {part}");
    }
    // The connections add up to their destinations' bytes.
    let joined = query(
        &pq,
        &format!(
            "select count(*) from (select device, host, sum(bytes_sent) b from {} group by all) f \
             join {} d using (device, host) where f.b <> d.bytes_sent",
            table("flows"),
            table("destinations")
        ),
    );
    assert_eq!(joined[0][0], 0, "flows whose bytes do not add up to their destination's");
    // The manifest's columns, and times as timestamps.
    let rows = query(
        &pq,
        &format!(
            "select device, model, firmware, typeof(first_packet) from {} order by device",
            table("captures")
        ),
    );
    assert_eq!(rows[1][1], "Redmi 1S");
    assert_eq!(rows[2][2], "MIUI V5.7");
    assert_eq!(rows[0][3], "TIMESTAMP WITH TIME ZONE");
    // The README's question, from the Parquet and from the JSON.
    let abroad = query(
        &pq,
        &format!(
            "select distinct device from {} where exposure = 'cleartext' and leaves_country \
             order by device",
            table("findings")
        ),
    );
    let abroad: Vec<&str> = abroad.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(abroad, ["redmi-a", "redmi_b_2"]);
    // Every finding's kind and count matches, row for row.
    let sum: u64 = query(&pq, &format!("select sum(count) from {}", table("findings")))[0][0]
        .as_u64()
        .unwrap();
    let json_sum: u64 = ["redmi-a", "redmi-b", "mi-c"]
        .iter()
        .map(|s| {
            let r: Value =
                serde_json::from_slice(&std::fs::read(js.join(format!("{s}.json"))).unwrap())
                    .unwrap();
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["count"].as_u64().unwrap())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(sum, json_sum);
}

#[test]
fn parquet_needs_a_folder() {
    let demo = root().join("examples/demo.pcapng");
    let o = phonehome(&["analyze", demo.to_str().unwrap(), "--format", "parquet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give `--out DIR`"));
}
