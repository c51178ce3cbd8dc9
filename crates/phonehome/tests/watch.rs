//! `phonehome watch`: replays checked against `analyze` (the final JSON is the same), findings
//! streamed before their connection ends, a clean stop on SIGTERM, the JSON lines against
//! `schema/live.schema.json`; and a real interface: a veth pair between two network namespaces
//! this test creates and removes (root and a build with the `live` feature; skipped with a
//! message otherwise, unless `PHONEHOME_LIVE_TEST=require`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Conversation, PcapWriter};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_phonehome"));
    c.current_dir(root());
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run phonehome")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phonehome-watch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn live_schema() -> jsonschema::Validator {
    let schema = read_json(&root().join("schema/live.schema.json"));
    jsonschema::validator_for(&schema).expect("a valid schema")
}

fn check_stream(stream: &[Value]) {
    let v = live_schema();
    for line in stream {
        let errors: Vec<String> = v.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}: {line}");
    }
    assert_eq!(stream.first().map(|l| l["event"].clone()), Some("start".into()));
    assert_eq!(stream.last().map(|l| l["event"].clone()), Some("end".into()));
}

fn finding_key(f: &Value) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        f["data"], f["item"], f["source"], f["host"], f["encoding"], f["where"]
    )
}

/// The SDK requests (profile-less), the demo (with its profile), a mixed capture: a replay at
/// full speed writes the same report as `analyze`, and streams every finding it ends with.
#[test]
fn a_replay_gives_the_report_of_analyze() {
    let dir = temp("same");
    let sdk = dir.join("sdk.pcap");
    std::fs::write(&sdk, testkit::sdk::capture()).unwrap();
    let mix = dir.join("mix.pcap");
    {
        let cfg = testkit::mix::MixConfig {
            seed: 7,
            target_bytes: 2 << 20,
            mode: testkit::mix::MixMode::Http,
            ..Default::default()
        };
        let link = cfg.link.link_type();
        let mut w = PcapWriter::new(testkit::create_file(&mix).unwrap(), link).unwrap();
        testkit::mix::generate(&mut w, &cfg).unwrap();
        w.finish().unwrap();
    }
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (vec![sdk.display().to_string()], vec![]),
        (vec!["examples/demo.pcapng".into()], vec!["--profile", "examples/profile.toml"]),
        (vec![mix.display().to_string(), sdk.display().to_string()], vec![]),
    ];
    for (i, (captures, extra)) in cases.iter().enumerate() {
        let a = dir.join(format!("a{i}.json"));
        let w = dir.join(format!("w{i}.json"));
        let mut args = vec!["analyze"];
        args.extend(captures.iter().map(String::as_str));
        args.extend(extra);
        args.extend(["-o", a.to_str().unwrap()]);
        let analyzed = run(&args);
        let mut args = vec!["watch", "--speed", "max", "--jsonl", "--refresh", "0.05"];
        for c in captures {
            args.extend(["--replay", c.as_str()]);
        }
        args.extend(extra);
        args.extend(["-o", w.to_str().unwrap()]);
        let watched = run(&args);
        assert_eq!(watched.status.code(), analyzed.status.code(), "{watched:?}");
        assert_eq!(read_json(&w), read_json(&a), "case {i}: watch --replay and analyze differ");
        let stream = lines(&watched.stdout);
        check_stream(&stream);
        let streamed: std::collections::BTreeSet<String> = stream
            .iter()
            .filter(|l| l["event"] == "finding")
            .map(|l| finding_key(&l["finding"]))
            .collect();
        let final_ones: std::collections::BTreeSet<String> =
            read_json(&w)["findings"].as_array().unwrap().iter().map(finding_key).collect();
        assert!(!final_ones.is_empty(), "case {i}");
        assert!(final_ones.is_subset(&streamed), "case {i}: every finding was streamed");
        let end = stream.last().unwrap();
        assert_eq!(end["summary"], read_json(&w)["summary"]);
        assert_eq!(end["report"], w.to_str().unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const T0: i64 = testkit::DEFAULT_START_NS;
const SEC: i64 = testkit::SEC;

/// One keep-alive HTTP connection: a request with the demo profile's IMEI at once, another
/// after `gap` seconds, then the close.
fn keep_alive_capture(path: &Path, gap: i64) {
    let client: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let server: SocketAddr = "192.0.2.80:80".parse().unwrap();
    let mut c = Conversation::tcp(client, server).start_ns(T0);
    c.handshake();
    c.client_sends(b"GET /a?imei=865123045678905 HTTP/1.1\r\nHost: t.tracker.example\r\n\r\n");
    c.server_sends(b"HTTP/1.1 204 No Content\r\n\r\n");
    c.wait(gap * SEC);
    c.client_sends(b"GET /b?ok=1 HTTP/1.1\r\nHost: t.tracker.example\r\n\r\n");
    c.server_sends(b"HTTP/1.1 204 No Content\r\n\r\n");
    c.fin();
    let mut w = PcapWriter::new(testkit::create_file(path).unwrap(), c.link_type()).unwrap();
    w.write_frames(&c.frames()).unwrap();
    w.finish().unwrap();
}

/// Spawns `watch` with JSON lines on a pipe (see [`stream_of`]).
fn spawn_watch(args: &[&str]) -> (Child, mpsc::Receiver<Value>) {
    let mut child = bin()
        .arg("watch")
        .args(args)
        .args(["--jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn phonehome watch");
    let rx = stream_of(&mut child);
    (child, rx)
}

/// The lines of a child's standard output, handed over by a thread as they come.
fn stream_of(child: &mut Child) -> mpsc::Receiver<Value> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<Value>, until: Duration, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + until;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) if f(&v) => return v,
            Ok(_) => {}
            Err(e) => panic!("no such line within {until:?}: {e}"),
        }
    }
}

fn wait_exit(child: &mut Child, until: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + until;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("phonehome watch did not end within {until:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

/// A finding is streamed while its connection is still open, and SIGTERM then ends the session
/// cleanly: the report is written, says where reading stopped, and the stream ends.
#[test]
fn findings_stream_before_the_connection_ends_and_sigterm_stops_cleanly() {
    let dir = temp("open");
    let cap = dir.join("keepalive.pcap");
    keep_alive_capture(&cap, 60);
    let report = dir.join("r.json");
    let (mut child, rx) = spawn_watch(&[
        "--replay",
        cap.to_str().unwrap(),
        "--speed",
        "1",
        "--refresh",
        "0.1",
        "--profile",
        "examples/profile.toml",
        "-o",
        report.to_str().unwrap(),
    ]);
    let started = Instant::now();
    let line = wait_for(&rx, Duration::from_secs(20), |v| v["event"] == "finding");
    assert_eq!(line["finding"]["data"], "imei");
    assert_eq!(line["finding"]["host"], "t.tracker.example");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    // Capture time is still at the first request: the connection has 60 s to go.
    let t = line["time"].as_str().unwrap();
    assert!(t.starts_with(&pipeline::time::rfc3339(capture::Timestamp(T0))[..17]), "{t}");
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "findings: exit code 1");
    let end = wait_for(&rx, Duration::from_secs(5), |v| v["event"] == "end");
    assert_eq!(end["summary"]["findings"], 1);
    let doc = read_json(&report);
    assert_eq!(doc["findings"][0]["data"], "imei");
    let error = doc["captures"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("stopped on request after"), "{error}");
    assert_eq!(doc["summary"]["complete"], false, "a stopped replay is not a complete read");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_are_refused_with_exit_code_2() {
    let o = run(&["watch", "--replay", "examples/demo.pcapng", "--write", "/tmp/x.pcapng"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--write is for live capture"));
    let o = run(&["watch", "--replay", "examples/demo.pcapng", "--speed", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["watch"]);
    assert_eq!(o.status.code(), Some(2), "an interface or a replay is required");
    let o = run(&["watch", "--replay", "/nonexistent.pcap", "--speed", "max", "--jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    let stream = lines(&o.stdout);
    let end = stream.last().unwrap();
    assert_eq!(end["summary"]["verdict"], Value::Null, "nothing read: no verdict");
}

#[path = "watch/netns.rs"]
mod netns;

/// A plain GET on loopback: the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

/// `watch --guard`: the DNS guard runs in the same process, blocks, and the live view shows its
/// blocks per device; both stop together.
#[test]
fn the_guard_runs_alongside_and_its_blocks_show_per_device() {
    let dir = temp("guard");
    let cap = dir.join("keepalive.pcap");
    keep_alive_capture(&cap, 60);
    let list = dir.join("block.txt");
    std::fs::write(&list, "tracker.example\n").unwrap();
    let mut child = bin()
        .args(["watch", "--replay", cap.to_str().unwrap(), "--refresh", "0.1", "--jsonl"])
        .args(["--web", "127.0.0.1:0", "--guard", "--guard-listen", "127.0.0.1:0"])
        .args(["--guard-upstream", "127.0.0.1:9", "--guard-block", list.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stream_of(&mut child);
    // Standard error is read to its end on a thread (a closed pipe would fail its writes).
    let stderr = child.stderr.take().unwrap();
    let (etx, erx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = etx.send(line);
        }
    });
    let (mut web, mut dns) = (None, None);
    while let Ok(line) = erx.recv_timeout(Duration::from_secs(15)) {
        if let Some(u) = line.strip_prefix("phonehome: live view at http://") {
            web = Some(u.trim_end_matches('/').to_string());
        }
        if let Some(rest) = line.strip_prefix("guard: listening on ") {
            dns = rest.split([' ', ',']).next().map(str::to_string);
        }
        if web.is_some() && dns.is_some() {
            break;
        }
    }
    let (web, dns) = (web.expect("the live view's address"), dns.expect("the guard's address"));
    let q = testkit::app::dns::DnsMessage::query(0x4242, "ads.tracker.example", 1).encode();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.send_to(&q, dns.as_str()).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = sock.recv_from(&mut buf).expect("the guard answers");
    assert!(n > 12 && buf[..2] == [0x42, 0x42]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let v: Value = serde_json::from_str(&http_get(&web, "/state.json")).unwrap_or_default();
        if v["blocked"].as_array().is_some_and(|b| !b.is_empty()) {
            break v;
        }
        assert!(Instant::now() < deadline, "no block shown: {v}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(state["blocked"][0]["client"], "127.0.0.1");
    assert_eq!(state["blocked"][0]["blocked"], 1);
    assert!(state["blocked"][0]["last_name"].as_str().unwrap().starts_with("ads.tracker.example"));
    assert_eq!(state["status"]["blocked"], 1);
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).code().is_some());
    let end = wait_for(&rx, Duration::from_secs(5), |v| v["event"] == "end");
    assert_eq!(end["counters"]["blocked"], 1);
    let rest: Vec<String> = erx.try_iter().collect();
    assert!(rest.iter().any(|l| l.starts_with("guard: stopped: ")), "{rest:?}");
    // The guard stopped with the session: its port answers no more.
    sock.send_to(&q, dns.as_str()).unwrap();
    assert!(sock.recv_from(&mut buf).is_err(), "the guard stopped with the session");
    let _ = std::fs::remove_dir_all(&dir);
}
