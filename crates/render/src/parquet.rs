//! A report as Apache Parquet tables (`analyze --out DIR --format parquet`), laid out hive-style
//! so that DuckDB, Spark, Trino, ClickHouse and pandas read a folder of many runs as one table:
//!
//! ```text
//! DIR/findings/device=redmi-1/redmi-1.parquet
//! DIR/destinations/device=redmi-1/redmi-1.parquet
//! DIR/flows/device=redmi-1/redmi-1.parquet
//! DIR/captures/device=redmi-1/redmi-1.parquet
//! ```
//!
//! The `device` column comes from the folder name (`hive_partitioning`); its value is the
//! device's label with every byte outside `A-Z a-z 0-9 . _ -` written `_` (an unlabelled capture
//! is `device=unknown`). Every table also has `model`, `firmware` (from a manifest) and
//! `capture` (the capture's path as given). Columns are nullable; times are
//! `TIMESTAMP(MICROS, UTC)`; the columns of each table are listed in [`FINDINGS`],
//! [`DESTINATIONS`], [`FLOWS`] and [`CAPTURES`] and described in the README. The `flows` table
//! has the connections the report kept (`Report::flows`, at most `report::MAX_FLOW_ROWS`). One row group per file,
//! Snappy-compressed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use report::{CaptureInfo, Destination, Finding, FlowRow, Report, Summary};

/// One column's values.
enum Col {
    Str(Vec<Option<String>>),
    I64(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    /// Microseconds since the epoch, UTC.
    Time(Vec<Option<i64>>),
}

impl Col {
    fn len(&self) -> usize {
        match self {
            Self::Str(v) => v.len(),
            Self::I64(v) | Self::Time(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    fn schema(&self, name: &str) -> String {
        match self {
            Self::Str(_) => format!("OPTIONAL BYTE_ARRAY {name} (UTF8);"),
            Self::I64(_) => format!("OPTIONAL INT64 {name};"),
            Self::Bool(_) => format!("OPTIONAL BOOLEAN {name};"),
            Self::Time(_) => format!("OPTIONAL INT64 {name} (TIMESTAMP(MICROS,true));"),
        }
    }
}

/// The columns of the `findings` table, in order.
pub const FINDINGS: &[&str] = &[
    "model",
    "firmware",
    "capture",
    "data",
    "item",
    "source",
    "reason",
    "host",
    "ip",
    "port",
    "protocol",
    "encrypted",
    "decrypted",
    "encoding",
    "place",
    "count",
    "first_seen",
    "last_seen",
    "severity",
    "protection",
    "exposure",
    "party",
    "party_category",
    "country",
    "leaves_country",
    "app",
    "uid",
];

/// The columns of the `destinations` table, in order.
pub const DESTINATIONS: &[&str] = &[
    "model",
    "firmware",
    "capture",
    "host",
    "domain",
    "ips",
    "party",
    "party_category",
    "country",
    "asn",
    "protocols",
    "protection",
    "tls_sessions",
    "tls_decrypted",
    "flows",
    "bytes_sent",
    "bytes_received",
    "first_seen",
    "findings",
    "severity",
    "leaves_country",
];

/// The columns of the `flows` table, in order.
pub const FLOWS: &[&str] = &[
    "model",
    "firmware",
    "capture",
    "flow",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "transport",
    "protocol",
    "host",
    "protection",
    "alpn",
    "first_seen",
    "last_seen",
    "packets_sent",
    "packets_received",
    "bytes_sent",
    "bytes_received",
    "findings",
    "app",
];

/// The columns of the `captures` table, in order.
pub const CAPTURES: &[&str] = &[
    "model",
    "firmware",
    "capture",
    "sha256",
    "size",
    "format",
    "packets",
    "first_packet",
    "last_packet",
    "error",
    "verdict",
    "findings",
];

/// What a run is labelled with (a manifest's columns).
#[derive(Debug, Clone, Default)]
pub struct Labels<'a> {
    /// The device (the hive partition).
    pub device: Option<&'a str>,
    /// Its model.
    pub model: Option<&'a str>,
    /// Its firmware.
    pub firmware: Option<&'a str>,
}

/// The partition value of a device label (see the module doc).
pub fn partition(device: Option<&str>) -> String {
    let d = device.unwrap_or("unknown");
    let v: String = d
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    if v.is_empty() || v.starts_with('.') { format!("_{v}") } else { v }
}

fn s(v: impl Into<String>) -> Option<String> {
    Some(v.into())
}

fn n(v: u64) -> Option<i64> {
    i64::try_from(v).ok()
}

fn micros(t: capture::Timestamp) -> Option<i64> {
    Some(t.0.div_euclid(1000))
}

fn labels_cols(l: &Labels<'_>, capture: &str, rows: usize) -> Vec<(&'static str, Col)> {
    vec![
        ("model", Col::Str(vec![l.model.map(str::to_owned); rows])),
        ("firmware", Col::Str(vec![l.firmware.map(str::to_owned); rows])),
        ("capture", Col::Str(vec![s(capture); rows])),
    ]
}

fn findings(r: &Report, l: &Labels<'_>, capture: &str) -> Vec<(&'static str, Col)> {
    let f: &[Finding] = &r.findings;
    let str_col = |g: &dyn Fn(&Finding) -> Option<String>| Col::Str(f.iter().map(g).collect());
    let mut cols = labels_cols(l, capture, f.len());
    cols.extend([
        ("data", str_col(&|x| s(x.data.as_str()))),
        ("item", str_col(&|x| s(x.item.clone()))),
        ("source", str_col(&|x| s(x.source.as_str()))),
        ("reason", str_col(&|x| Some(x.reason.to_owned()).filter(|r| !r.is_empty()))),
        ("host", str_col(&|x| s(x.host.clone()))),
        ("ip", str_col(&|x| s(x.ip.clone()))),
        ("port", Col::I64(f.iter().map(|x| Some(i64::from(x.port))).collect())),
        ("protocol", str_col(&|x| s(x.protocol))),
        ("encrypted", Col::Bool(f.iter().map(|x| Some(x.encrypted)).collect())),
        ("decrypted", Col::Bool(f.iter().map(|x| Some(x.decrypted)).collect())),
        ("encoding", str_col(&|x| s(x.encoding.clone()))),
        ("place", str_col(&|x| s(x.where_.clone()))),
        ("count", Col::I64(f.iter().map(|x| n(x.count)).collect())),
        ("first_seen", Col::Time(f.iter().map(|x| micros(x.first_seen)).collect())),
        ("last_seen", Col::Time(f.iter().map(|x| micros(x.last_seen)).collect())),
        ("severity", str_col(&|x| s(x.severity.as_str()))),
        ("protection", str_col(&|x| s(x.protection.kind()))),
        ("exposure", str_col(&|x| s(x.exposure.as_str()))),
        ("party", str_col(&|x| x.party.as_ref().map(|p| p.name.clone()))),
        ("party_category", str_col(&|x| x.party.as_ref().map(|p| p.category.to_owned()))),
        ("country", str_col(&|x| x.country.clone())),
        ("leaves_country", Col::Bool(f.iter().map(|x| x.leaves_country).collect())),
        ("app", str_col(&|x| x.app.as_ref().map(pipeline::App::label))),
        ("uid", Col::I64(f.iter().map(|x| x.app.as_ref().map(|a| i64::from(a.uid))).collect())),
    ]);
    cols
}

fn destinations(r: &Report, l: &Labels<'_>, capture: &str) -> Vec<(&'static str, Col)> {
    let d: &[Destination] = &r.destinations;
    let str_col = |g: &dyn Fn(&Destination) -> Option<String>| Col::Str(d.iter().map(g).collect());
    let i64_col = |g: &dyn Fn(&Destination) -> u64| Col::I64(d.iter().map(|x| n(g(x))).collect());
    let mut cols = labels_cols(l, capture, d.len());
    let join = |v: &mut dyn Iterator<Item = &str>| v.collect::<Vec<_>>().join(",");
    cols.extend([
        ("host", str_col(&|x| s(x.host.clone()))),
        ("domain", str_col(&|x| s(x.domain.clone()))),
        ("ips", str_col(&|x| s(join(&mut x.ips.iter().map(String::as_str))))),
        ("party", str_col(&|x| x.party.as_ref().map(|p| p.name.clone()))),
        ("party_category", str_col(&|x| x.party.as_ref().map(|p| p.category.to_owned()))),
        ("country", str_col(&|x| x.geo.as_ref().and_then(|g| g.country.clone()))),
        (
            "asn",
            Col::I64(d.iter().map(|x| x.geo.as_ref().and_then(|g| g.asn).map(i64::from)).collect()),
        ),
        ("protocols", str_col(&|x| s(join(&mut x.protocols.iter().copied())))),
        ("protection", str_col(&|x| s(x.protection.kind()))),
        ("tls_sessions", i64_col(&|x| x.tls_sessions)),
        ("tls_decrypted", i64_col(&|x| x.tls_decrypted)),
        ("flows", i64_col(&|x| x.flows)),
        ("bytes_sent", i64_col(&|x| x.bytes_sent)),
        ("bytes_received", i64_col(&|x| x.bytes_received)),
        ("first_seen", Col::Time(d.iter().map(|x| micros(x.first_seen)).collect())),
        ("findings", i64_col(&|x| x.findings as u64)),
        ("severity", str_col(&|x| s(x.severity.as_str()))),
        ("leaves_country", Col::Bool(d.iter().map(|x| x.leaves_country).collect())),
    ]);
    cols
}

fn flows(r: &Report, l: &Labels<'_>, capture: &str) -> Vec<(&'static str, Col)> {
    let f: &[FlowRow] = &r.flows;
    let str_col = |g: &dyn Fn(&FlowRow) -> Option<String>| Col::Str(f.iter().map(g).collect());
    let i64_col = |g: &dyn Fn(&FlowRow) -> u64| Col::I64(f.iter().map(|x| n(g(x))).collect());
    let mut cols = labels_cols(l, capture, f.len());
    cols.extend([
        ("flow", i64_col(&|x| x.id)),
        ("client_ip", str_col(&|x| s(x.client.ip().to_string()))),
        ("client_port", i64_col(&|x| u64::from(x.client.port()))),
        ("server_ip", str_col(&|x| s(x.server.ip().to_string()))),
        ("server_port", i64_col(&|x| u64::from(x.server.port()))),
        ("transport", str_col(&|x| s(x.transport.clone()))),
        ("protocol", str_col(&|x| s(x.protocol))),
        ("host", str_col(&|x| s(x.host.clone()))),
        ("protection", str_col(&|x| s(x.protection.kind()))),
        ("alpn", str_col(&|x| Some(x.alpn.clone()).filter(|a| !a.is_empty()))),
        ("first_seen", Col::Time(f.iter().map(|x| micros(x.first)).collect())),
        ("last_seen", Col::Time(f.iter().map(|x| micros(x.last)).collect())),
        ("packets_sent", i64_col(&|x| x.packets[0])),
        ("packets_received", i64_col(&|x| x.packets[1])),
        ("bytes_sent", i64_col(&|x| x.bytes[0])),
        ("bytes_received", i64_col(&|x| x.bytes[1])),
        ("findings", i64_col(&|x| x.findings)),
        ("app", str_col(&|x| x.app.clone())),
    ]);
    cols
}

fn captures(r: &Report, l: &Labels<'_>) -> Vec<(&'static str, Col)> {
    let c: &[CaptureInfo] = &r.captures;
    let summary = Summary::of(r);
    let verdict = (!summary.nothing_read).then(|| summary.verdict.as_str().to_owned());
    let str_col = |g: &dyn Fn(&CaptureInfo) -> Option<String>| Col::Str(c.iter().map(g).collect());
    vec![
        ("model", Col::Str(vec![l.model.map(str::to_owned); c.len()])),
        ("firmware", Col::Str(vec![l.firmware.map(str::to_owned); c.len()])),
        ("capture", str_col(&|x| s(x.path.clone()))),
        ("sha256", str_col(&|x| x.sha256.clone())),
        ("size", Col::I64(c.iter().map(|x| n(x.size)).collect())),
        ("format", str_col(&|x| x.format.map(str::to_owned))),
        ("packets", Col::I64(c.iter().map(|x| n(x.packets)).collect())),
        ("first_packet", Col::Time(c.iter().map(|x| x.first_packet.and_then(micros)).collect())),
        ("last_packet", Col::Time(c.iter().map(|x| x.last_packet.and_then(micros)).collect())),
        ("error", str_col(&|x| x.error.clone())),
        ("verdict", Col::Str(vec![verdict.clone(); c.len()])),
        ("findings", Col::I64(vec![n(r.findings.len() as u64); c.len()])),
    ]
}

/// Writes one table to `path`.
fn write_table(path: &Path, table: &str, cols: &[(&'static str, Col)]) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let rows = cols.first().map_or(0, |(_, c)| c.len());
    if cols.iter().any(|(_, c)| c.len() != rows) {
        return Err(err(&"columns of different lengths"));
    }
    let fields: String = cols.iter().map(|(name, c)| c.schema(name)).collect::<Vec<_>>().join(" ");
    let schema =
        parse_message_type(&format!("message {table} {{ {fields} }}")).map_err(|e| err(&e))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let file = File::create(path).map_err(|e| err(&e))?;
    let mut w =
        SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).map_err(|e| err(&e))?;
    let mut rg = w.next_row_group().map_err(|e| err(&e))?;
    for (name, col) in cols {
        let mut cw = rg.next_column().map_err(|e| err(&e))?.ok_or_else(|| err(name))?;
        let written = match (cw.untyped(), col) {
            (ColumnWriter::ByteArrayColumnWriter(t), Col::Str(v)) => {
                let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                let vals: Vec<ByteArray> =
                    v.iter().flatten().map(|x| ByteArray::from(x.as_bytes().to_vec())).collect();
                t.write_batch(&vals, Some(&defs), None)
            }
            (ColumnWriter::Int64ColumnWriter(t), Col::I64(v) | Col::Time(v)) => {
                let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                let vals: Vec<i64> = v.iter().flatten().copied().collect();
                t.write_batch(&vals, Some(&defs), None)
            }
            (ColumnWriter::BoolColumnWriter(t), Col::Bool(v)) => {
                let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                let vals: Vec<bool> = v.iter().flatten().copied().collect();
                t.write_batch(&vals, Some(&defs), None)
            }
            _ => return Err(err(&format!("column {name}: type mismatch"))),
        };
        written.map_err(|e| err(&e))?;
        cw.close().map_err(|e| err(&e))?;
    }
    rg.close().map_err(|e| err(&e))?;
    w.close().map_err(|e| err(&e))?;
    Ok(())
}

/// Writes the run's four tables under `dir` (see the module doc), each file named `stem`;
/// returns the files written.
///
/// # Errors
/// A folder or file that cannot be written (named).
pub fn write(
    r: &Report,
    labels: &Labels<'_>,
    dir: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>, String> {
    let capture = r.captures.first().map_or("", |c| c.path.as_str());
    let part = format!("device={}", partition(labels.device));
    let mut written = Vec::new();
    for (table, cols) in [
        ("findings", findings(r, labels, capture)),
        ("destinations", destinations(r, labels, capture)),
        ("flows", flows(r, labels, capture)),
        ("captures", captures(r, labels)),
    ] {
        let folder = dir.join(table).join(&part);
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("{}: cannot create: {e}", folder.display()))?;
        let path = folder.join(format!("{stem}.parquet"));
        write_table(&path, table, &cols)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_safe_folder_names() {
        assert_eq!(partition(Some("redmi-1")), "redmi-1");
        assert_eq!(partition(Some("Redmi 1S/TW")), "Redmi_1S_TW");
        assert_eq!(partition(Some("..")), "_..");
        assert_eq!(partition(Some("")), "_");
        assert_eq!(partition(None), "unknown");
        assert_eq!(partition(Some("é")), "_");
    }

    #[test]
    fn the_column_lists_are_the_tables() {
        let r = Report::default();
        let l = Labels::default();
        let names =
            |cols: Vec<(&'static str, Col)>| cols.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(findings(&r, &l, "c")), FINDINGS);
        assert_eq!(names(destinations(&r, &l, "c")), DESTINATIONS);
        assert_eq!(names(flows(&r, &l, "c")), FLOWS);
        assert_eq!(names(captures(&r, &l)), CAPTURES);
    }
}
