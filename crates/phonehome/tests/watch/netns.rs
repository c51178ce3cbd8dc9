//! `watch -i` on a real interface: one end of a veth pair between two network namespaces made
//! here (and removed, whatever happens), HTTP and DNS sent across from the other, in time
//! bounded steps.

use super::*;

/// Two namespaces joined by a veth pair: `a` (10.199.X.1, where phonehome and a web server run)
/// and `b` (10.199.X.2, the "phone").
struct Pair {
    a: String,
    b: String,
    net: u8,
}

impl Pair {
    fn create() -> Self {
        let id = std::process::id();
        let net = (id % 200) as u8 + 20;
        let p = Self { a: format!("phw{id}a"), b: format!("phw{id}b"), net };
        p.teardown();
        let ip = |args: &[&str]| {
            let s = Command::new("ip").args(args).status().expect("ip");
            assert!(s.success(), "ip {args:?}");
        };
        ip(&["netns", "add", &p.a]);
        ip(&["netns", "add", &p.b]);
        ip(&[
            "link", "add", "ph0", "netns", &p.a, "type", "veth", "peer", "name", "ph1", "netns",
            &p.b,
        ]);
        ip(&["-n", &p.a, "addr", "add", &format!("10.199.{net}.1/24"), "dev", "ph0"]);
        ip(&["-n", &p.b, "addr", "add", &format!("10.199.{net}.2/24"), "dev", "ph1"]);
        for (ns, dev) in [(&p.a, "ph0"), (&p.b, "ph1")] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        p
    }

    fn server(&self) -> String {
        format!("10.199.{}.1", self.net)
    }

    fn exec(&self, ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    fn teardown(&self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Kills a child at the end of the test, whatever happens.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn can_run() -> bool {
    let require = std::env::var("PHONEHOME_LIVE_TEST").as_deref() == Ok("require");
    let skip = |why: &str| {
        assert!(!require, "PHONEHOME_LIVE_TEST=require but {why}");
        testkit::skip::skip("watch (live interface)", why);
        false
    };
    let uid = Command::new("id").arg("-u").output().map(|o| o.stdout).unwrap_or_default();
    if String::from_utf8_lossy(&uid).trim() != "0" {
        return skip("not root (network namespaces need it)");
    }
    let list = run(&["watch", "--list-interfaces"]);
    if !list.status.success() {
        return skip(&format!(
            "this build cannot capture ({}); scripts/test builds `--features live` when libpcap-dev is installed",
            String::from_utf8_lossy(&list.stderr).trim()
        ));
    }
    if Command::new("python3").arg("--version").output().is_err() {
        return skip("python3 is missing (the web server and client of the test)");
    }
    true
}

/// HTTP GET from the "phone".
fn get(pair: &Pair, path: &str, host: &str) {
    let url = format!("http://{}:8080{path}", pair.server());
    let script = "import sys, urllib.request\n\
        r = urllib.request.Request(sys.argv[1], headers={'Host': sys.argv[2]})\n\
        try:\n    urllib.request.urlopen(r, timeout=5).read()\n\
        except Exception as e:\n    print(e)\n";
    let s = pair.exec(&pair.b, "python3").args(["-c", script, &url, host]).status().unwrap();
    assert!(s.success());
}

/// The status of a GET from the "phone".
fn http_status(pair: &Pair, url: &str) -> String {
    let script = "import sys, urllib.request, urllib.error\n\
        try:\n    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)\n\
        except urllib.error.HTTPError as e:\n    print(e.code)\n";
    let o = pair.exec(&pair.b, "python3").args(["-c", script, url]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// HTTP POST of `body` from the "phone".
fn post(pair: &Pair, body: &str) {
    let url = format!("http://{}:8080/upload", pair.server());
    let script = "import sys, urllib.request\n\
        r = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={'Host': 'up.tracker.example'})\n\
        try:\n    urllib.request.urlopen(r, timeout=5).read()\n\
        except Exception as e:\n    print(e)\n";
    let s = pair.exec(&pair.b, "python3").args(["-c", script, &url, body]).status().unwrap();
    assert!(s.success());
}

/// A DNS query for `name` from the "phone" (nobody answers; the query is what counts).
fn dns(pair: &Pair, name: &str) {
    let q = testkit::app::dns::DnsMessage::query(0x1234, name, 1).encode();
    let script = "import sys, socket\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 53))\n";
    let hex = testkit::to_hex(&q);
    let s =
        pair.exec(&pair.b, "python3").args(["-c", script, &hex, &pair.server()]).status().unwrap();
    assert!(s.success());
}

#[test]
fn watch_on_a_veth_sees_http_and_dns_writes_a_rotating_pcapng_and_stops_cleanly() {
    if !can_run() {
        return;
    }
    let pair = Pair::create();
    let dir = temp("netns");
    let _web = Reap(
        pair.exec(&pair.a, "python3")
            .args(["-m", "http.server", "8080", "--bind", &pair.server()])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = dir.join("s.pcapng");
    let report = dir.join("r.json");
    let phone = format!("host 10.199.{}.2", pair.net);
    let watch = pair
        .exec(&pair.a, env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(root())
        .args(["watch", "-i", "ph0", "--filter", &phone, "--profile", "examples/profile.toml"])
        .args(["--write", base.to_str().unwrap(), "--rotate-size", "8K", "--jsonl"])
        .args(["--refresh", "0.2", "--no-geo", "-o", report.to_str().unwrap()])
        .args(["--web", &format!("{}:18080", pair.server())])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut watch = Reap(watch);
    let rx = stream_of(&mut watch.0);
    let (etx, erx) = mpsc::channel();
    let stderr = watch.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if etx.send(line).is_err() {
                break;
            }
        }
    });
    let start = wait_for(&rx, Duration::from_secs(15), |v| v["event"] == "start");
    assert_eq!(start["writing"], base.to_str().unwrap());
    // The live view on a non-loopback address got a random token; without it: 401.
    let url = loop {
        let line = erx.recv_timeout(Duration::from_secs(10)).expect("the live view's address");
        if let Some(u) = line.strip_prefix("phonehome: live view at ") {
            break u.to_string();
        }
    };
    let (base, token) = url.split_once("/?token=").expect("a token for a non-loopback address");
    assert_eq!(token.len(), 32, "{url}");
    assert_eq!(http_status(&pair, &format!("{base}/state.json")), "401");
    assert_eq!(http_status(&pair, &format!("{base}/state.json?token=x{token}")), "401");
    assert_eq!(http_status(&pair, &format!("{base}/state.json?token={token}")), "200");
    // The web server needs a moment to listen.
    std::thread::sleep(Duration::from_millis(500));
    get(&pair, "/track?imei=865123045678905", "t.tracker.example");
    dns(&pair, "865123045678905.dev.tracker.example");
    let f = wait_for(&rx, Duration::from_secs(10), |v| {
        v["event"] == "finding" && v["finding"]["where"] == "http.query:imei"
    });
    assert_eq!(f["finding"]["host"], "t.tracker.example");
    wait_for(&rx, Duration::from_secs(10), |v| {
        v["event"] == "finding" && v["finding"]["where"].as_str().unwrap_or("").starts_with("dns.")
    });
    // Enough bytes to rotate the 8 KiB files, then one last request just before the stop.
    post(&pair, &format!("note={}", "x".repeat(20_000)));
    get(&pair, "/last?imsi=466920123456789", "t.tracker.example");
    sigterm(&watch.0);
    let status = wait_exit(&mut watch.0, Duration::from_secs(15));
    assert_eq!(status.code(), Some(1), "findings: exit code 1");

    // Nothing lost at the stop: the last request is in the report.
    let doc = read_json(&report);
    let found = |data: &str| doc["findings"].as_array().unwrap().iter().any(|f| f["data"] == data);
    assert!(found("imei") && found("imsi"), "{:#}", doc["findings"]);
    // The session's files: rotated, private, each read back whole by phonehome (and tshark).
    let files: Vec<PathBuf> = doc["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| PathBuf::from(c["path"].as_str().unwrap()))
        .collect();
    assert!(files.len() >= 2, "rotated at 8 KiB: {files:?}");
    assert_eq!(files[1], dir.join("s-2.pcapng"));
    for (i, f) in files.iter().enumerate() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
        let c = &doc["captures"][i];
        assert!(c["sha256"].is_string() && c["error"].is_null(), "{c}");
        if Path::new("/usr/bin/tshark").exists() {
            let o = Command::new("tshark").arg("-r").arg(f).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let frames = String::from_utf8_lossy(&o.stdout).lines().count() as u64;
            assert_eq!(Some(frames), c["packets"].as_u64(), "{}", f.display());
        }
    }
    // The evidence points into the files, and `analyze` of them finds the same data.
    let ev = &doc["findings"][0]["evidence"][0];
    assert!(files.iter().any(|f| ev["file"] == f.to_str().unwrap()), "{ev}");
    let mut args =
        vec!["analyze", "--profile", "examples/profile.toml", "--no-geo", "--format", "json"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let again: Value = serde_json::from_slice(&run(&args).stdout).unwrap();
    let keys = |d: &Value| -> std::collections::BTreeSet<String> {
        d["findings"].as_array().unwrap().iter().map(finding_key).collect()
    };
    assert_eq!(keys(&again), keys(&doc));
    let end = wait_for(&rx, Duration::from_secs(5), |v| v["event"] == "end");
    assert_eq!(end["counters"]["dropped"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without CAP_NET_RAW and CAP_NET_ADMIN (dropped from root's bounding set by util-linux's
/// `setpriv`), `watch -i` says which capabilities it needs, and exits with 2.
#[test]
fn without_the_capabilities_the_error_names_them() {
    if !can_run() {
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        testkit::skip::skip("watch (capabilities)", "no setpriv (util-linux)");
        return;
    }
    let o = Command::new("setpriv")
        .args(["--bounding-set", "-net_raw,-net_admin", "--inh-caps", "-net_raw,-net_admin"])
        .arg(env!("CARGO_BIN_EXE_phonehome"))
        .args(["watch", "-i", "lo"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("lo: not allowed to capture"), "{err}");
    assert!(err.contains("CAP_NET_RAW") && err.contains("CAP_NET_ADMIN") && err.contains("setcap"));
}
