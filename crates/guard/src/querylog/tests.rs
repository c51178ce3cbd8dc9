//! Tests of the query log: schema, batching, pruning, close, concurrent senders, statistics.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::*;
use crate::Verdict;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "phonehome-querylog-{tag}-{}-{n}-{}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("guard.sqlite")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rec(time_ms: i64, client: u8, name: &str, verdict: Verdict) -> QueryRecord {
    QueryRecord {
        time_ms,
        client: IpAddr::V4(Ipv4Addr::new(192, 168, 1, client)),
        name: name.into(),
        qtype: 1,
        verdict,
        rule: (verdict == Verdict::Blocked).then(|| format!("{name} (list.txt:1)")),
        rcode: if verdict == Verdict::Blocked { 3 } else { 0 },
        upstream_us: (verdict == Verdict::Allowed).then_some(1234),
        tcp: false,
    }
}

fn rows(path: &Path) -> i64 {
    let c = Connection::open(path).unwrap();
    c.query_row("SELECT count(*) FROM queries", [], |r| r.get(0)).unwrap()
}

fn wait_for(log: &QueryLog, written: u64) {
    let start = Instant::now();
    while log.counts().written < written {
        assert!(start.elapsed() < Duration::from_secs(10), "{:?}", log.counts());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn schema_is_created_with_version_wal_and_indexes() {
    let dir = TempDir::new("schema");
    let log = QueryLog::open(&dir.db(), LogOptions::default()).unwrap();
    let mut r = rec(now_ms(), 7, "api.example.com", Verdict::Blocked);
    r.upstream_us = Some(99);
    r.tcp = true;
    log.sender().send(r.clone());
    let summary = log.close().unwrap();
    assert_eq!(summary, LogSummary { written: 1, ..LogSummary::default() });

    let c = Connection::open(dir.db()).unwrap();
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let mut idx: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'queries'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    idx.sort();
    assert_eq!(idx, ["queries_client", "queries_time"]);
    let row: (i64, String, String, i64, String, Option<String>, i64, Option<i64>, bool) = c
        .query_row(
            "SELECT time_ms, client, name, qtype, verdict, rule, rcode, upstream_us, tcp \
             FROM queries",
            [],
            |x| {
                Ok((
                    x.get(0)?,
                    x.get(1)?,
                    x.get(2)?,
                    x.get(3)?,
                    x.get(4)?,
                    x.get(5)?,
                    x.get(6)?,
                    x.get(7)?,
                    x.get(8)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(row.0, r.time_ms);
    assert_eq!(row.1, "192.168.1.7");
    assert_eq!(row.2, "api.example.com");
    assert_eq!((row.3, row.4.as_str()), (1, "blocked"));
    assert_eq!(row.5.as_deref(), Some("api.example.com (list.txt:1)"));
    assert_eq!((row.6, row.7, row.8), (3, Some(99), true));

    // Reopening an existing log appends.
    let log = QueryLog::open(&dir.db(), LogOptions::default()).unwrap();
    log.sender().send(r);
    log.close().unwrap();
    assert_eq!(rows(&dir.db()), 2);
}

#[test]
fn foreign_and_newer_files_are_refused_with_their_name() {
    let dir = TempDir::new("foreign");
    let other = dir.0.join("other.sqlite");
    Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    let e = QueryLog::open(&other, LogOptions::default()).unwrap_err().to_string();
    assert!(e.contains("other.sqlite") && e.contains("not a phonehome query log"), "{e}");
    let e = stats(&other, &StatsQuery::default()).unwrap_err().to_string();
    assert!(e.contains("other.sqlite") && e.contains("not a phonehome query log"), "{e}");

    let text = dir.0.join("notes.txt");
    std::fs::write(&text, "hello, this is not a database at all, just some text.\n".repeat(100))
        .unwrap();
    let e = QueryLog::open(&text, LogOptions::default()).unwrap_err().to_string();
    assert!(e.contains("notes.txt"), "{e}");
    let e = stats(&text, &StatsQuery::default()).unwrap_err().to_string();
    assert!(e.contains("notes.txt") && e.contains("not an SQLite database"), "{e}");

    QueryLog::open(&dir.db(), LogOptions::default()).unwrap().close().unwrap();
    Connection::open(dir.db()).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let e = QueryLog::open(&dir.db(), LogOptions::default()).unwrap_err().to_string();
    assert!(e.contains("guard.sqlite") && e.contains("version 99"), "{e}");

    let missing = dir.0.join("missing.sqlite");
    let e = stats(&missing, &StatsQuery::default()).unwrap_err().to_string();
    assert!(e.contains("missing.sqlite"), "{e}");
    assert!(!missing.exists(), "stats never creates the file");

    let e = QueryLog::open(&dir.0.join("no/such/dir/x.sqlite"), LogOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such/dir/x.sqlite"), "{e}");
}

#[test]
fn full_batches_commit_at_once_and_the_rest_on_close() {
    let dir = TempDir::new("batch");
    let options = LogOptions {
        batch: 10,
        flush_interval: Duration::from_secs(3600),
        ..LogOptions::default()
    };
    let log = QueryLog::open(&dir.db(), options).unwrap();
    let tx = log.sender();
    for i in 0..25 {
        tx.send(rec(now_ms(), 1, &format!("n{i}.example"), Verdict::Allowed));
    }
    wait_for(&log, 20);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(log.counts().written, 20, "the last 5 wait for the interval");
    assert_eq!(rows(&dir.db()), 20);
    assert_eq!(log.close().unwrap().written, 25);
    assert_eq!(rows(&dir.db()), 25);
}

#[test]
fn a_partial_batch_commits_after_the_flush_interval() {
    let dir = TempDir::new("interval");
    let options = LogOptions {
        batch: 1000,
        flush_interval: Duration::from_millis(50),
        ..LogOptions::default()
    };
    let log = QueryLog::open(&dir.db(), options).unwrap();
    let start = Instant::now();
    for i in 0..3 {
        log.sender().send(rec(now_ms(), 1, &format!("n{i}.example"), Verdict::Allowed));
    }
    wait_for(&log, 3);
    assert!(start.elapsed() >= Duration::from_millis(40), "{:?}", start.elapsed());
    assert_eq!(rows(&dir.db()), 3);
    // flush() commits at once.
    log.sender().send(rec(now_ms(), 1, "late.example", Verdict::Allowed));
    log.flush();
    assert_eq!(rows(&dir.db()), 4);
    drop(log);
}

#[test]
fn retention_prunes_old_rows() {
    let dir = TempDir::new("retention");
    let now = now_ms();
    let day = 24 * 3600 * 1000;
    {
        let log = QueryLog::open(&dir.db(), LogOptions { retention: None, ..Default::default() })
            .unwrap();
        for i in 0..50 {
            log.sender().send(rec(now - 3 * day + i, 1, "old.example", Verdict::Allowed));
            log.sender().send(rec(now - i, 1, "new.example", Verdict::Allowed));
        }
        assert_eq!(log.close().unwrap().pruned, 0);
    }
    assert_eq!(rows(&dir.db()), 100);
    let options =
        LogOptions { retention: Some(Duration::from_secs(2 * 86_400)), ..Default::default() };
    let log = QueryLog::open_with(&dir.db(), options, Duration::from_millis(20)).unwrap();
    // Pruned at start; new old rows arriving later go at the next round.
    let start = Instant::now();
    while log.counts().pruned < 50 {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(5));
    }
    log.sender().send(rec(now - 5 * day, 1, "older.example", Verdict::Allowed));
    log.flush();
    let start = Instant::now();
    while log.counts().pruned < 51 {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(5));
    }
    let summary = log.close().unwrap();
    assert_eq!((summary.written, summary.pruned), (1, 51));
    let c = Connection::open(dir.db()).unwrap();
    let old: i64 = c
        .query_row("SELECT count(*) FROM queries WHERE name != 'new.example'", [], |r| r.get(0))
        .unwrap();
    assert_eq!((rows(&dir.db()), old), (50, 0));
}

#[test]
fn max_rows_keeps_the_newest() {
    let dir = TempDir::new("maxrows");
    let options = LogOptions { max_rows: Some(100), batch: 64, ..Default::default() };
    let log = QueryLog::open(&dir.db(), options.clone()).unwrap();
    for i in 0..250 {
        log.sender().send(rec(now_ms(), 1, &format!("n{i}.example"), Verdict::Allowed));
    }
    let s = log.close().unwrap();
    assert_eq!((s.written, s.pruned), (250, 150));
    let c = Connection::open(dir.db()).unwrap();
    let (count, min): (i64, String) = c
        .query_row(
            "SELECT count(*), (SELECT name FROM queries ORDER BY id LIMIT 1) FROM queries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((count, min.as_str()), (100, "n150.example"));
    // The count survives a reopen.
    let log = QueryLog::open(&dir.db(), options).unwrap();
    log.sender().send(rec(now_ms(), 1, "one-more.example", Verdict::Allowed));
    assert_eq!(log.close().unwrap().pruned, 1);
    assert_eq!(rows(&dir.db()), 100);
}

#[test]
fn close_loses_nothing_from_concurrent_senders() {
    let dir = TempDir::new("concurrent");
    let options = LogOptions { queue: 100_000, ..Default::default() };
    let log = QueryLog::open(&dir.db(), options).unwrap();
    let threads = 4;
    let per = 25_000;
    std::thread::scope(|s| {
        for t in 0..threads {
            let tx = log.sender();
            s.spawn(move || {
                for i in 0..per {
                    tx.send(rec(
                        now_ms(),
                        t as u8,
                        &format!("h{}.example", i % 100),
                        Verdict::Allowed,
                    ));
                }
            });
        }
    });
    let summary = log.close().unwrap();
    assert_eq!(summary.dropped, 0);
    assert_eq!(summary.written, (threads * per) as u64);
    assert_eq!(rows(&dir.db()), (threads * per) as i64);
}

#[test]
fn senders_racing_close_are_written_or_counted() {
    let dir = TempDir::new("race");
    let log = QueryLog::open(&dir.db(), LogOptions { queue: 1024, ..Default::default() }).unwrap();
    let senders: Vec<LogSender> = (0..4).map(|_| log.sender()).collect();
    let sent = std::sync::atomic::AtomicU64::new(0);
    let (summary, after) = std::thread::scope(|s| {
        for tx in &senders {
            let sent = &sent;
            s.spawn(move || {
                for i in 0..20_000 {
                    tx.send(rec(now_ms(), 1, &format!("r{i}.example"), Verdict::Allowed));
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(20));
        let summary = log.close().unwrap();
        (summary, &senders)
    });
    let total = sent.load(Ordering::Relaxed);
    assert_eq!(total, 80_000);
    let end = after[0].counts();
    assert_eq!(end.written, summary.written, "nothing written after close");
    assert_eq!(end.written + end.dropped, total, "{end:?}");
    assert_eq!(rows(&dir.db()), summary.written as i64);
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let dir = TempDir::new("full");
    let options = LogOptions { queue: 1, batch: 1, ..Default::default() };
    let log = QueryLog::open(&dir.db(), options).unwrap();
    let tx = log.sender();
    let start = Instant::now();
    for i in 0..10_000 {
        tx.send(rec(now_ms(), 1, &format!("f{i}.example"), Verdict::Allowed));
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    let s = log.close().unwrap();
    assert_eq!(s.written + s.dropped, 10_000);
    assert!(s.dropped > 0, "{s:?}");
    assert_eq!(rows(&dir.db()), s.written as i64);
    // After close, sends are dropped and counted.
    tx.send(rec(now_ms(), 1, "after.example", Verdict::Allowed));
    assert_eq!(tx.counts().dropped, s.dropped + 1);
}

#[test]
fn drop_without_close_flushes() {
    let dir = TempDir::new("drop");
    let log = QueryLog::open(
        &dir.db(),
        LogOptions { flush_interval: Duration::from_secs(3600), ..Default::default() },
    )
    .unwrap();
    for i in 0..700 {
        log.sender().send(rec(now_ms(), 1, &format!("d{i}.example"), Verdict::Allowed));
    }
    drop(log);
    assert_eq!(rows(&dir.db()), 700);
}

/// A known set: two clients, Xiaomi names (one blocked), a tracker, a CNAME-cloaked tracker, an
/// unattributed name, refused/malformed queries, and rows outside the window.
fn known_log(dir: &TempDir) -> i64 {
    let t0 = 1_700_000_000_000;
    let log =
        QueryLog::open(&dir.db(), LogOptions { retention: None, ..Default::default() }).unwrap();
    let tx = log.sender();
    let add = |n: usize, dt: i64, client: u8, name: &str, v: Verdict| {
        for _ in 0..n {
            tx.send(rec(t0 + dt, client, name, v));
        }
    };
    add(5, 10, 2, "api.account.xiaomi.com", Verdict::Blocked);
    add(3, 20, 3, "api.account.xiaomi.com", Verdict::Blocked);
    add(4, 30, 2, "update.miui.com", Verdict::Allowed);
    add(2, 40, 2, "update.miui.com", Verdict::Cached);
    add(6, 50, 3, "stats.g.doubleclick.net", Verdict::Blocked);
    add(7, 60, 3, "www.example.org", Verdict::Allowed);
    add(1, 70, 4, "", Verdict::Malformed);
    add(2, 80, 4, "www.example.org", Verdict::Refused);
    add(1, 90, 2, "upstream-down.example", Verdict::Failed);
    // Cloaked: first-party name blocked through its CNAME target at Adobe.
    let mut cloaked = rec(t0 + 95, 2, "metrics.shop.example", Verdict::Blocked);
    cloaked.rule = Some("shop.sc.omtrdc.net (trackers.txt:3)".into());
    tx.send(cloaked);
    // Outside [t0, t0 + 1000).
    add(9, -1, 2, "before.example", Verdict::Allowed);
    add(9, 1000, 2, "after.xiaomi.com", Verdict::Blocked);
    drop(tx);
    log.close().unwrap();
    t0
}

#[test]
fn stats_count_a_known_window() {
    let dir = TempDir::new("stats");
    let t0 = known_log(&dir);
    let q = StatsQuery { since_ms: Some(t0), until_ms: Some(t0 + 1000), top: 10, entities: None };
    let s = stats(&dir.db(), &q).unwrap();
    assert_eq!(s.total, 32);
    assert_eq!((s.first_ms, s.last_ms), (Some(t0 + 10), Some(t0 + 95)));
    let v = s.verdicts;
    assert_eq!((v.allowed, v.cached, v.blocked), (11, 2, 15));
    assert_eq!((v.refused, v.failed, v.malformed, v.unknown), (2, 1, 1, 0));
    assert_eq!((s.names_total, s.clients_total), (6, 3));

    let blocked: Vec<(&str, u64, Option<&str>)> =
        s.top_blocked.iter().map(|n| (n.name.as_str(), n.queries, n.party.as_deref())).collect();
    assert_eq!(
        blocked,
        [
            ("api.account.xiaomi.com", 8, Some("Xiaomi")),
            ("stats.g.doubleclick.net", 6, Some("Google (Ads)")),
            ("metrics.shop.example", 1, Some("Adobe Experience Cloud")),
        ]
    );
    assert_eq!(s.top_blocked[0].category, Some("manufacturer"));
    assert_eq!(s.top_blocked[0].rule.as_deref(), Some("api.account.xiaomi.com (list.txt:1)"));
    let allowed: Vec<(&str, u64)> =
        s.top_allowed.iter().map(|n| (n.name.as_str(), n.queries)).collect();
    assert_eq!(allowed, [("www.example.org", 7), ("update.miui.com", 6)]);

    let clients: Vec<(&str, u64, u64, u64)> =
        s.clients.iter().map(|c| (c.client.as_str(), c.queries, c.blocked, c.allowed)).collect();
    assert_eq!(
        clients,
        [("192.168.1.3", 16, 9, 7), ("192.168.1.2", 13, 6, 6), ("192.168.1.4", 3, 0, 0)]
    );
    let c3 = &s.clients[0];
    assert_eq!(c3.client, "192.168.1.3");
    assert_eq!(c3.names, 3);
    assert_eq!(c3.top_names[0].name, "www.example.org");
    assert_eq!(s.clients[2].names, 1, "the malformed empty name is not a name");

    let parties: Vec<(&str, &str, u64, u64, u64)> = s
        .parties
        .iter()
        .map(|p| (p.party.as_str(), p.category, p.queries, p.blocked, p.allowed))
        .collect();
    assert_eq!(
        parties,
        [
            ("Xiaomi", "manufacturer", 14, 8, 6),
            ("Google (Ads)", "advertising", 6, 6, 0),
            ("Adobe Experience Cloud", "analytics", 1, 1, 0),
        ]
    );
    assert_eq!(s.parties[0].names, 2);
    assert_eq!(s.parties[0].country.as_deref(), Some("CN"));
    assert_eq!(s.parties_total, 3);
    assert_eq!(s.unattributed, Unattributed { queries: 10, blocked: 0, allowed: 7, names: 2 });

    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["verdicts"]["blocked"], 15);
    assert_eq!(json["parties"][0]["party"], "Xiaomi");
}

#[test]
fn stats_windows_top_and_entity_files() {
    let dir = TempDir::new("window");
    let t0 = known_log(&dir);
    let all = stats(&dir.db(), &StatsQuery::default()).unwrap();
    assert_eq!(all.total, 50);
    assert_eq!((all.since_ms, all.until_ms), (None, None));
    assert_eq!(all.top_blocked[0].name, "after.xiaomi.com");
    assert_eq!(all.parties[0].blocked, 17, "after.xiaomi.com counts for Xiaomi");

    let late = StatsQuery { since_ms: Some(t0 + 1000), ..Default::default() };
    let s = stats(&dir.db(), &late).unwrap();
    assert_eq!((s.total, s.verdicts.blocked), (9, 9));
    let early = StatsQuery { until_ms: Some(t0), ..Default::default() };
    assert_eq!(stats(&dir.db(), &early).unwrap().total, 9);
    let empty = StatsQuery { since_ms: Some(t0 + 5000), ..Default::default() };
    let s = stats(&dir.db(), &empty).unwrap();
    assert_eq!((s.total, s.first_ms, s.top_blocked.len()), (0, None, 0));
    assert!(StatsQuery::last(Duration::from_secs(3600), 5).since_ms.unwrap() > t0);

    let top1 = StatsQuery { top: 1, ..Default::default() };
    let s = stats(&dir.db(), &top1).unwrap();
    assert_eq!((s.top_blocked.len(), s.clients.len(), s.parties.len()), (1, 1, 1));
    assert_eq!(s.clients[0].top_names.len(), 1);
    assert_eq!(s.parties_total, 3);

    let file = dir.0.join("entities.toml");
    std::fs::write(
        &file,
        "[[entity]]\nname = \"Example Org\"\ncategory = \"other\"\ncountry = \"US\"\n\
         domains = [\"example.org\"]\n",
    )
    .unwrap();
    let q = StatsQuery { entities: Some(file.clone()), ..Default::default() };
    let s = stats(&dir.db(), &q).unwrap();
    assert!(s.parties.iter().any(|p| p.party == "Example Org" && p.queries == 9));
    std::fs::write(&file, "[[entity]]\nname = 3\n").unwrap();
    let e = stats(&dir.db(), &q).unwrap_err().to_string();
    assert!(e.contains("entities.toml"), "{e}");
}

#[test]
fn stats_read_while_the_writer_runs() {
    let dir = TempDir::new("live");
    let log = QueryLog::open(&dir.db(), LogOptions::default()).unwrap();
    for i in 0..100 {
        log.sender().send(rec(now_ms(), 1, &format!("l{}.xiaomi.com", i % 3), Verdict::Blocked));
    }
    log.flush();
    let s = stats(&dir.db(), &StatsQuery::last(Duration::from_secs(600), 10)).unwrap();
    assert_eq!(s.total, 100);
    assert_eq!(s.parties[0].party, "Xiaomi");
    log.sender().send(rec(now_ms(), 1, "x.example", Verdict::Allowed));
    log.flush();
    assert_eq!(stats(&dir.db(), &StatsQuery::default()).unwrap().total, 101);
    log.close().unwrap();
}

/// Throughput of the writer: `cargo test -p guard --release querylog::tests::throughput --
/// --ignored --nocapture`.
#[test]
#[ignore = "measurement"]
fn throughput() {
    let dir = TempDir::new("throughput");
    let n = 1_000_000u64;
    let options = LogOptions { queue: n as usize, ..Default::default() };
    let log = QueryLog::open(&dir.db(), options).unwrap();
    let records: Vec<QueryRecord> = (0..n)
        .map(|i| {
            let v = if i % 4 == 0 { Verdict::Blocked } else { Verdict::Allowed };
            rec(now_ms(), (i % 20) as u8, &format!("host{}.domain{}.example", i % 5000, i % 300), v)
        })
        .collect();
    let start = Instant::now();
    let tx = log.sender();
    for r in records {
        tx.send(r);
    }
    let queued = start.elapsed();
    let s = log.close().unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "writer: {} rows in {secs:.2} s = {:.0} rows/s (queueing took {queued:?}, dropped {})",
        s.written,
        s.written as f64 / secs,
        s.dropped
    );
    let st = Instant::now();
    let stats = stats(&dir.db(), &StatsQuery::default()).unwrap();
    println!(
        "stats over {} rows: {:?} ({:.0} rows/s)",
        stats.total,
        st.elapsed(),
        stats.total as f64 / st.elapsed().as_secs_f64()
    );
    assert_eq!(s.written, n);
}
