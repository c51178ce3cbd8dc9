//! The live view of `watch --web` in headless Chromium: the page opens before the first finding,
//! receives the findings pushed after it loaded, shows values masked, makes no request but to
//! its own origin, logs no console error, and the server refuses requests without the token.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use super::*;

/// A capture whose one finding (the demo profile's IMEI over plain HTTP) comes `delay` seconds
/// after its first packet, a DNS query for the tracker.
fn delayed_capture(path: &Path, delay: i64) {
    use testkit::{Conversation, PcapWriter};
    let t0 = testkit::DEFAULT_START_NS;
    let mut frames = Vec::new();
    let q = testkit::app::dns::DnsMessage::query(1, "t.tracker.example", 1);
    let mut d = Conversation::udp("10.0.0.2:5353".parse().unwrap(), "10.0.0.1:53".parse().unwrap())
        .start_ns(t0);
    d.client_datagram(&q.encode());
    frames.extend(d.frames());
    let mut c =
        Conversation::tcp("10.0.0.2:40000".parse().unwrap(), "192.0.2.80:80".parse().unwrap())
            .start_ns(t0 + delay * testkit::SEC);
    c.handshake();
    c.client_sends(b"GET /a?imei=865123045678905 HTTP/1.1\r\nHost: t.tracker.example\r\n\r\n");
    c.server_sends(b"HTTP/1.1 204 No Content\r\n\r\n");
    c.wait(testkit::SEC);
    c.fin();
    frames.extend(c.frames());
    frames.sort_by_key(|f| f.0);
    let mut w = PcapWriter::new(testkit::create_file(path).unwrap(), c.link_type()).unwrap();
    w.write_frames(&frames).unwrap();
    w.finish().unwrap();
}

/// Kills the session at the end of the test, whatever happens.
struct Session(Child);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Status line of a plain GET.
fn status_of(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to the live view");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.lines().next().unwrap_or_default().to_string()
}

const READ_LIVE: &str = r#"(() => ({
  updates: Number(document.body.dataset.updates),
  findings: document.getElementById('findings-count').textContent,
  rows: [...document.querySelectorAll('#findings tr')].map(r => r.textContent),
  destinations: [...document.querySelectorAll('#destinations tr')].length,
  verdict: document.getElementById('verdict').textContent,
  conn: document.getElementById('conn').textContent,
}))()"#;

#[test]
fn live_view_in_headless_chromium() {
    let required = env::var("PHONEHOME_BROWSER_TEST").is_ok_and(|v| v == "require");
    let Some(exe) = chromium::find() else {
        assert!(!required, "PHONEHOME_BROWSER_TEST=require, but there is no Chromium");
        testkit::skip::skip("browser (live view in Chromium)", "no /usr/bin/chromium");
        return;
    };
    let tmp = TempDir::new();
    let cap = tmp.0.join("delayed.pcap");
    delayed_capture(&cap, 4);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(&root)
        .args(["watch", "--replay"])
        .arg(&cap)
        .args(["--speed", "1", "--refresh", "0.2", "--profile", "examples/profile.toml"])
        .args(["--web", "127.0.0.1:0", "--web-token", "t0ken", "--jsonl"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run phonehome watch");
    let stderr = child.stderr.take().unwrap();
    let _session = Session(child);
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("phonehome printed the live view's address").unwrap();
        if let Some(u) = line.strip_prefix("phonehome: live view at ") {
            break u.to_string();
        }
    };
    assert!(url.ends_with("/?token=t0ken"), "{url}");
    let origin = url.trim_end_matches("/?token=t0ken").to_string();
    let addr = origin.trim_start_matches("http://").to_string();
    // Without the token: refused.
    for path in ["/", "/events", "/state.json", "/report.html"] {
        assert!(status_of(&addr, path).starts_with("HTTP/1.1 401"), "{path}");
    }

    let (mut browser, mut cdp, page) = open_browser(&exe, &tmp.0);
    let fail = |e: String| -> ! { panic!("{e}\nChromium's stderr:\n{}", browser.stderr_text()) };
    let page = Some(page.as_str());
    cdp.take_events();
    cdp.call(page, "Page.navigate", json!({ "url": url })).unwrap_or_else(|e| fail(e));
    cdp.wait_for(page, "Page.loadEventFired", TIMEOUT).unwrap_or_else(|e| fail(e));
    // Loaded before the finding (it comes 4 s into the capture, replayed at its own pace).
    let first = evaluate(&mut cdp, page, READ_LIVE).unwrap_or_else(|e| fail(e));
    assert_eq!(first["findings"], "0", "{first}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let shown = loop {
        cdp.pump(Duration::from_millis(200)).unwrap_or_else(|e| fail(e));
        let v = evaluate(&mut cdp, page, READ_LIVE).unwrap_or_else(|e| fail(e));
        if v["findings"] != "0" {
            break v;
        }
        assert!(Instant::now() < deadline, "no finding pushed to the page: {v}");
    };
    assert_eq!(shown["findings"], "1", "{shown}");
    assert_eq!(shown["verdict"], "critical", "{shown}");
    let row = shown["rows"][0].as_str().unwrap_or_default();
    assert!(row.contains("86***********05") && row.contains("t.tracker.example"), "{row}");
    assert!(!row.contains("865123045678905"), "the value is masked: {row}");
    assert!(shown["updates"].as_u64() > Some(1), "{shown}");
    let mut failures = Vec::new();
    let allowed = |t: &str| t.starts_with(&format!("{origin}/"));
    let requests = check_events(&cdp.take_events(), &allowed, &mut failures);
    let _ = cdp.call(None, "Browser.close", json!({}));
    browser.wait_exit(Duration::from_secs(5));
    drop(browser);
    eprintln!("browser test (live view): {shown}; {requests} request(s)");
    assert!(failures.is_empty(), "the live view failed: {failures:?}");
}
