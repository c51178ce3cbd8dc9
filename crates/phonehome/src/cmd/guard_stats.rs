//! `phonehome guard stats`: what the guard's query log says about a time window.
//!
//! Contract: reads the query log (`--db`, default `guard.sqlite` in the current directory)
//! read-only through [`guard::querylog::stats`], so it can run beside a running guard; prints
//! totals per verdict, the top blocked and allowed names, per client and per party, as aligned
//! text tables or as one JSON document (the [`guard::querylog::Stats`] fields plus `db`, `since`
//! and `until` in RFC 3339). The window is `--since` (a span back from now such as `90m`, `24h`,
//! `7d`, `2w`; an RFC 3339 time; a `YYYY-MM-DD` date, midnight UTC; or `all`) up to `--until`
//! (same forms, exclusive; default: no end). Errors name the file and exit with 2 (through
//! `main`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use guard::querylog::{NameCount, Stats, StatsQuery, now_ms, stats};

/// Arguments of `phonehome guard stats`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatsArgs {
    /// The query log written by `phonehome guard --db`.
    #[arg(long, value_name = "PATH", default_value = "guard.sqlite")]
    pub(crate) db: PathBuf,
    /// Start of the window: a span back from now (`90m`, `24h`, `7d`, `2w`), an RFC 3339 time
    /// (`2026-11-20T18:00:00Z`), a date (`2026-11-20`, UTC) or `all`.
    #[arg(long, value_name = "WHEN", default_value = "24h")]
    pub(crate) since: String,
    /// End of the window (exclusive), in the same forms; default: no end.
    #[arg(long, value_name = "WHEN")]
    pub(crate) until: Option<String>,
    /// Entries per list (names, clients, parties, names per client).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) top: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    pub(crate) format: StatsFormat,
    /// An entity file (the format of `data/entities.toml`) on top of the built-in one, to
    /// attribute names to parties.
    #[arg(long, value_name = "FILE")]
    pub(crate) entities: Option<PathBuf>,
}

/// Output formats of `phonehome guard stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StatsFormat {
    /// Aligned tables for a terminal.
    Text,
    /// One JSON document.
    Json,
}

pub(crate) fn run(args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let now = now_ms();
    let since = parse_when(&args.since, now).with_context(|| format!("--since {}", args.since))?;
    let until = match &args.until {
        Some(u) => parse_when(u, now).with_context(|| format!("--until {u}"))?,
        None => None,
    };
    let q = StatsQuery {
        since_ms: since,
        until_ms: until,
        top: args.top,
        entities: args.entities.clone(),
    };
    let s = stats(&args.db, &q)?;
    let out = match args.format {
        StatsFormat::Json => {
            let mut doc = serde_json::Map::new();
            doc.insert("db".into(), args.db.display().to_string().into());
            doc.insert("since".into(), since.map(rfc3339).into());
            doc.insert("until".into(), until.map(rfc3339).into());
            if let serde_json::Value::Object(fields) = serde_json::to_value(&s)? {
                doc.extend(fields);
            }
            let mut text = serde_json::to_string_pretty(&doc)?;
            text.push('\n');
            text
        }
        StatsFormat::Text => text(&s, args),
    };
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// A window bound: `None` for `all`, else milliseconds since the Unix epoch.
fn parse_when(s: &str, now_ms: i64) -> anyhow::Result<Option<i64>> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    if let Some(unit) = s.chars().last().filter(char::is_ascii_alphabetic)
        && let Ok(n) = s[..s.len() - 1].parse::<u32>()
    {
        let ms = match unit {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => bail!("unknown unit {unit:?}: use s, m, h, d or w (e.g. 24h, 7d)"),
        };
        return Ok(Some(now_ms - i64::from(n) * ms));
    }
    parse_rfc3339(s).map(Some).ok_or_else(|| {
        anyhow::anyhow!(
            "not a span (24h, 7d), an RFC 3339 time (2026-11-20T18:00:00Z), a date or all"
        )
    })
}

/// `YYYY-MM-DD`, or `YYYY-MM-DD[T ]hh:mm[:ss[.frac]](Z|±hh:mm)`, to milliseconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if b.len() == 10 {
        return Some(days * 86_400_000);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (hh, mm) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let (mut ss, mut ms) = (0, 0);
    if b.get(i) == Some(&b':') {
        ss = num(i + 1..i + 3)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let frac = s.get(start..i).filter(|f| !f.is_empty())?;
            ms = format!("{frac:0<3}")[..3].parse::<i64>().ok()?;
        }
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let offset_min = match s.get(i..)? {
        "Z" | "z" => 0,
        rest if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 UTC with milliseconds: `2026-11-21T09:40:00.123Z`.
fn rfc3339(ms: i64) -> String {
    let ts = pipeline::time::rfc3339(capture::Timestamp(ms.saturating_mul(1_000_000)));
    // Six fractional digits -> three.
    match ts.strip_suffix("000Z") {
        Some(head) => format!("{head}Z"),
        None => ts,
    }
}

/// `2026-11-21 09:40:00 UTC`, for the text header.
fn short_time(ms: i64) -> String {
    let t = rfc3339(ms);
    format!("{} UTC", t.get(..19).unwrap_or(&t).replace('T', " "))
}

/// A thousands-separated count.
fn n(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(part: u64, total: u64) -> String {
    if total == 0 { "-".into() } else { format!("{:.1}%", part as f64 * 100.0 / total as f64) }
}

/// Renders `rows` under `header` with two-space gutters; columns listed in `right` are
/// right-aligned (numbers), the last column is never padded.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>], right: &[usize]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::from(" ");
        for (i, cell) in cells.enumerate() {
            let pad = width[i].saturating_sub(cell.chars().count());
            text.push(' ');
            if right.contains(&i) {
                text.extend(std::iter::repeat_n(' ', pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if i + 1 < width.len() {
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            text.push(' ');
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(out, &mut header.iter().copied());
    for row in rows {
        line(out, &mut row.iter().map(String::as_str));
    }
}

fn name_rows(list: &[NameCount], with_rule: bool) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| {
            let mut row = vec![
                n(c.queries),
                c.name.clone(),
                c.party.clone().unwrap_or_else(|| "-".into()),
                c.category.unwrap_or("-").into(),
            ];
            if with_rule {
                row.push(c.rule.clone().unwrap_or_default());
            }
            row
        })
        .collect()
}

fn text(s: &Stats, args: &StatsArgs) -> String {
    let mut out = String::new();
    let from = s.since_ms.map_or_else(|| "the first query".into(), short_time);
    let to = s.until_ms.map_or_else(|| "now".into(), short_time);
    let _ = writeln!(out, "Query log {}: {from} to {to}", args.db.display());
    if s.total == 0 {
        out.push_str("\nNo queries in this window.\n");
        return out;
    }
    if let (Some(first), Some(last)) = (s.first_ms, s.last_ms) {
        let _ = writeln!(out, "Queries seen from {} to {}", short_time(first), short_time(last));
    }
    let v = &s.verdicts;
    let answered = v.allowed + v.cached;
    let _ = writeln!(
        out,
        "\n{} queries from {} clients for {} names ({} parties)",
        n(s.total),
        n(s.clients_total),
        n(s.names_total),
        n(s.parties_total)
    );
    let mut rows = vec![
        vec!["blocked".into(), n(v.blocked), percent(v.blocked, s.total)],
        vec!["allowed".into(), n(answered), percent(answered, s.total)],
        vec!["  of which cached".into(), n(v.cached), percent(v.cached, s.total)],
        vec!["refused".into(), n(v.refused), percent(v.refused, s.total)],
        vec!["failed".into(), n(v.failed), percent(v.failed, s.total)],
        vec!["malformed".into(), n(v.malformed), percent(v.malformed, s.total)],
    ];
    if v.unknown > 0 {
        rows.push(vec!["unknown".into(), n(v.unknown), percent(v.unknown, s.total)]);
    }
    table(&mut out, &["verdict", "queries", "share"], &rows, &[1, 2]);

    let _ = writeln!(out, "\nTop blocked names");
    if s.top_blocked.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let header = ["queries", "name", "party", "category", "rule"];
        table(&mut out, &header, &name_rows(&s.top_blocked, true), &[0]);
    }
    let _ = writeln!(out, "\nTop allowed names");
    if s.top_allowed.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let header = ["queries", "name", "party", "category"];
        table(&mut out, &header, &name_rows(&s.top_allowed, false), &[0]);
    }

    let _ = writeln!(out, "\nClients");
    let rows: Vec<Vec<String>> = s
        .clients
        .iter()
        .map(|c| {
            let top = c.top_names.iter().take(3).map(|t| format!("{} ({})", t.name, n(t.queries)));
            vec![
                c.client.clone(),
                n(c.queries),
                n(c.blocked),
                n(c.allowed),
                n(c.names),
                top.collect::<Vec<_>>().join(", "),
            ]
        })
        .collect();
    let header = ["client", "queries", "blocked", "allowed", "names", "most asked"];
    table(&mut out, &header, &rows, &[1, 2, 3, 4]);

    let _ = writeln!(out, "\nParties");
    let mut rows: Vec<Vec<String>> = s
        .parties
        .iter()
        .map(|p| {
            vec![
                p.party.clone(),
                p.category.into(),
                p.country.clone().unwrap_or_else(|| "?".into()),
                n(p.queries),
                n(p.blocked),
                n(p.allowed),
                n(p.names),
            ]
        })
        .collect();
    let u = &s.unattributed;
    if u.names > 0 {
        rows.push(vec![
            "(no known party)".into(),
            "-".into(),
            "-".into(),
            n(u.queries),
            n(u.blocked),
            n(u.allowed),
            n(u.names),
        ]);
    }
    let header = ["party", "category", "country", "queries", "blocked", "allowed", "names"];
    table(&mut out, &header, &rows, &[3, 4, 5, 6]);
    let cut = [
        (s.clients_total, s.clients.len(), "clients"),
        (s.parties_total, s.parties.len(), "parties"),
    ];
    let cut: Vec<String> = cut
        .iter()
        .filter(|(total, shown, _)| *total > *shown as u64)
        .map(|(total, shown, what)| format!("{shown} of {} {what}", n(*total)))
        .collect();
    if !cut.is_empty() {
        let _ = writeln!(out, "\nShowing {} (--top {}).", cut.join(", "), args.top);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_dates_and_rfc3339() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_when("24h", now).unwrap(), Some(now - 86_400_000));
        assert_eq!(parse_when("7d", now).unwrap(), Some(now - 7 * 86_400_000));
        assert_eq!(parse_when("90m", now).unwrap(), Some(now - 90 * 60_000));
        assert_eq!(parse_when("all", now).unwrap(), None);
        assert!(parse_when("3y", now).is_err());
        assert!(parse_when("yesterday", now).is_err());
        assert_eq!(parse_rfc3339("1970-01-01"), Some(0));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.5Z"), Some(1_700_000_000_500));
        assert_eq!(parse_rfc3339("2023-11-14 23:13:20+01:00"), Some(1_700_000_000_000));
        assert_eq!(parse_rfc3339("2023-11-14T17:13-05:00"), Some(1_700_000_000_000 - 20_000));
        assert_eq!(parse_rfc3339("2000-02-29"), Some(951_782_400_000));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20"), None, "an offset is required");
        assert_eq!(parse_rfc3339("2023-13-01"), None);
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(short_time(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn numbers_and_tables() {
        assert_eq!(
            (n(0), n(999), n(1000), n(1_234_567)),
            ("0".into(), "999".into(), "1,000".into(), "1,234,567".into())
        );
        let mut out = String::new();
        table(
            &mut out,
            &["name", "n", "tail"],
            &[
                vec!["a".into(), "1,000".into(), "x".into()],
                vec!["bbbb".into(), "2".into(), "".into()],
            ],
            &[1],
        );
        assert_eq!(out, "  name      n  tail\n  a     1,000  x\n  bbbb      2\n");
    }
}
