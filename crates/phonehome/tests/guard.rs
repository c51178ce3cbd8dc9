//! `phonehome guard` end to end, on loopback only: a fake upstream started here (UDP and TCP on
//! one port, answers built with testkit's DNS encoder), the real binary on an ephemeral port, and
//! `dig` as the client. Skipped with a message when `dig` is missing, unless
//! `PHONEHOME_DNS_TEST=require`.
//!
//! Upstream zone: `allowed.example.com A 192.0.2.10`; `cloaked.example.com` CNAME
//! `mid.example.net` CNAME `shop.tracker.example` A 192.0.2.20 (the tracker is on the blocklist);
//! `big.example.com` 40 TXT records (over 1232 bytes: TC over UDP, full over TCP);
//! `slow.example.com A` answered after [`SLOW`]; `quiet.example.com` never answered; every other
//! name NXDOMAIN with an SOA.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use testkit::app::dns::{DnsMessage, DnsRecord, RData, qtype};

const DIG: &str = "/usr/bin/dig";
const SLOW: Duration = Duration::from_millis(400);

fn have_dig() -> bool {
    if Path::new(DIG).exists() {
        return true;
    }
    assert!(
        std::env::var("PHONEHOME_DNS_TEST").as_deref() != Ok("require"),
        "PHONEHOME_DNS_TEST=require but {DIG} is missing (apt-get install dnsutils)"
    );
    testkit::skip::skip("guard (end to end)", &format!("{DIG} is not installed (Debian dnsutils)"));
    false
}

// ---------------------------------------------------------------- fake upstream

/// Name and type of a query; `None` when unreadable.
fn question(p: &[u8]) -> Option<(u16, String, u16, bool)> {
    let id = u16::from_be_bytes([*p.first()?, *p.get(1)?]);
    let mut i = 12;
    let mut name = String::new();
    loop {
        let n = usize::from(*p.get(i)?);
        i += 1;
        if n == 0 {
            break;
        }
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(std::str::from_utf8(p.get(i..i + n)?).ok()?);
        i += n;
    }
    let qt = u16::from_be_bytes([*p.get(i)?, *p.get(i + 1)?]);
    let edns = p.len() > i + 4;
    Some((id, name.to_ascii_lowercase(), qt, edns))
}

fn answer(id: u16, name: &str, qt: u16, edns: bool) -> Vec<u8> {
    let mut m = DnsMessage::query(id, name, qt).into_response();
    let rec = |n: &str, t, d| DnsRecord::new(n, t, 300, d);
    match (name, qt) {
        ("allowed.example.com" | "slow.example.com", qtype::A) => {
            m = m.answer(rec(name, qtype::A, RData::A("192.0.2.10".parse().unwrap())));
        }
        ("cloaked.example.com", _) => {
            m = m.answers([
                rec(name, qtype::CNAME, RData::Name("mid.example.net".into())),
                rec("mid.example.net", qtype::CNAME, RData::Name("shop.tracker.example".into())),
                rec("shop.tracker.example", qtype::A, RData::A("192.0.2.20".parse().unwrap())),
            ]);
        }
        ("big.example.com", _) => {
            m = m.answers((0..40).map(|i| {
                rec(
                    name,
                    qtype::TXT,
                    RData::Txt(vec![format!("{i:03}{}", "x".repeat(60)).into_bytes()]),
                )
            }));
        }
        (n, _) if n.ends_with("example.com") && n != "nx.example.com" => {}
        _ => {
            m = m.rcode(3).authority(rec(
                "example.com",
                qtype::SOA,
                RData::Raw(b"\x02ns\x00\x04host\x00\x00\x00\x00\x01\x00\x00\x0e\x10\x00\x00\x03\x84\x00\x09\x3a\x80\x00\x00\x00\x3c".to_vec()),
            ));
        }
    }
    if edns {
        m = m.with_edns(1232);
    }
    m.encode()
}

/// The fake upstream: UDP and TCP on one loopback port; counts queries per name.
struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<HashMap<String, u32>>>,
    stop: Arc<AtomicBool>,
}

impl Upstream {
    fn start() -> Self {
        // UDP on a free port, then TCP on the same one: taken by something else now and then,
        // so tried again on another (as the guard itself does for port 0).
        let (udp, addr, tcp) = (0..32)
            .find_map(|_| {
                let udp = UdpSocket::bind("127.0.0.1:0").ok()?;
                let addr = udp.local_addr().ok()?;
                let tcp = TcpListener::bind(addr).ok()?;
                Some((udp, addr, tcp))
            })
            .expect("a loopback port free for both UDP and TCP");
        udp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        tcp.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !st.load(Ordering::Relaxed) {
                let Ok((n, peer)) = udp.recv_from(&mut buf) else { continue };
                let Some((id, name, qt, edns)) = question(&buf[..n]) else { continue };
                *s.lock().unwrap().entry(name.clone()).or_insert(0) += 1;
                if name == "quiet.example.com" {
                    continue;
                }
                let mut a = answer(id, &name, qt, edns);
                if a.len() > 1232 {
                    // truncated: header and question, TC
                    let qend = 12 + name.len() + 2 + 4;
                    a.truncate(qend);
                    a[2] |= 0x02;
                    a[6..12].fill(0);
                }
                let udp = udp.try_clone().unwrap();
                if name == "slow.example.com" {
                    thread::spawn(move || {
                        thread::sleep(SLOW);
                        let _ = udp.send_to(&a, peer);
                    });
                } else {
                    let _ = udp.send_to(&a, peer);
                }
            }
        });
        let (s, st) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((mut c, _)) = tcp.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    c.set_nonblocking(false).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut len = [0u8; 2];
                    while c.read_exact(&mut len).is_ok() {
                        let mut q = vec![0; usize::from(u16::from_be_bytes(len))];
                        if c.read_exact(&mut q).is_err() {
                            return;
                        }
                        let Some((id, name, qt, edns)) = question(&q) else { return };
                        *s.lock().unwrap().entry(format!("tcp:{name}")).or_insert(0) += 1;
                        let a = answer(id, &name, qt, edns);
                        let mut msg = (a.len() as u16).to_be_bytes().to_vec();
                        msg.extend_from_slice(&a);
                        if c.write_all(&msg).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { addr, seen, stop }
    }

    fn seen(&self, name: &str) -> u32 {
        self.seen.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------- the guard

struct Guard {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    dir: PathBuf,
}

fn tempdir(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "phonehome-guard-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Guard {
    /// Starts `phonehome guard --listen 127.0.0.1:0 ARGS` in `dir` and waits for its ready line.
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phonehome"))
            .arg("guard")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let (err, log) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
        thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                // kept before it is announced, so `stderr()` holds the ready line
                log.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(rest) = line.strip_prefix("guard: listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let mut g =
            Self { child, addr: "127.0.0.1:1".parse().unwrap(), stderr, dir: dir.to_owned() };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => g.addr = a.parse().unwrap(),
            Err(_) => panic!("guard did not start: {}", g.stderr()),
        }
        g
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }

    /// Waits for `text` on stderr.
    fn wait_for(&self, text: &str, within: Duration) {
        let end = Instant::now() + within;
        while !self.stderr().contains(text) {
            assert!(Instant::now() < end, "no `{text}` on stderr: {}", self.stderr());
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn dig(&self, args: &[&str]) -> Dig {
        let out = Command::new(DIG)
            .args(["@127.0.0.1", "-p", &self.addr.port().to_string(), "+tries=1", "+time=3"])
            .args(args)
            .output()
            .unwrap();
        Dig::parse(&String::from_utf8_lossy(&out.stdout))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What dig printed: status, header flags, answer records' data.
#[derive(Debug)]
struct Dig {
    status: String,
    flags: String,
    answers: Vec<String>,
    ttls: Vec<u32>,
    text: String,
}

impl Dig {
    fn parse(text: &str) -> Self {
        let after = |key: &str| {
            text.lines()
                .find_map(|l| l.split_once(key).map(|(_, r)| r.to_owned()))
                .unwrap_or_default()
        };
        let status = after("status: ").split(',').next().unwrap_or("").to_owned();
        let flags = after(";; flags: ").split(';').next().unwrap_or("").to_owned();
        let mut answers = Vec::new();
        let mut ttls = Vec::new();
        let mut in_answer = false;
        for l in text.lines() {
            if l.starts_with(";; ANSWER SECTION") {
                in_answer = true;
            } else if l.trim().is_empty() {
                in_answer = false;
            } else if in_answer {
                ttls.push(l.split_whitespace().nth(1).and_then(|t| t.parse().ok()).unwrap_or(0));
                answers.push(l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "));
            }
        }
        Self { status, flags, answers, ttls, text: text.to_owned() }
    }
}

fn lists(dir: &Path) {
    std::fs::write(
        dir.join("list.txt"),
        "# test list\nads.example.com\nshop.tracker.example\ngood.ads.example.com\n",
    )
    .unwrap();
    std::fs::write(dir.join("allow.txt"), "good.ads.example.com\n").unwrap();
}

// ---------------------------------------------------------------- tests

#[test]
fn blocked_allowed_cloaked_cached() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("answers");
    lists(&dir);
    let g = Guard::start(
        &dir,
        &["--upstream", &up.addr.to_string(), "--block", "list.txt", "--allow", "allow.txt"],
    );
    assert!(g.stderr().contains("3 block rules, 1 allow rules"), "{}", g.stderr());
    let d = g.dig(&["ads.example.com", "A"]);
    assert_eq!(
        (d.status.as_str(), d.answers.clone()),
        ("NOERROR", vec!["0.0.0.0".to_owned()]),
        "{}",
        d.text
    );
    let d = g.dig(&["ADS.example.COM", "AAAA"]);
    assert_eq!(d.answers, vec!["::".to_owned()], "{}", d.text);
    let d = g.dig(&["ads.example.com", "TXT"]);
    assert_eq!((d.status.as_str(), d.answers.len()), ("NOERROR", 0), "{}", d.text);
    assert_eq!(up.seen("ads.example.com"), 0);
    // allowlisted although on the blocklist: forwarded
    assert_eq!(g.dig(&["good.ads.example.com"]).status, "NOERROR");
    assert_eq!(up.seen("good.ads.example.com"), 1);
    let d = g.dig(&["allowed.example.com"]);
    assert_eq!(d.answers, vec!["192.0.2.10".to_owned()], "{}", d.text);
    assert_eq!(d.ttls, vec![300]);
    // cached: upstream asked once, the TTL counts down
    thread::sleep(Duration::from_millis(1100));
    let d2 = g.dig(&["allowed.example.com"]);
    assert_eq!(d2.answers, d.answers);
    assert!(d2.ttls[0] < 300 && d2.ttls[0] >= 297, "{}", d2.text);
    assert_eq!(up.seen("allowed.example.com"), 1);
    // CNAME cloaking: the chain ends at a blocked tracker
    let d = g.dig(&["cloaked.example.com"]);
    assert_eq!(d.answers, vec!["0.0.0.0".to_owned()], "{}", d.text);
    assert_eq!(g.dig(&["cloaked.example.com"]).answers, vec!["0.0.0.0".to_owned()]);
    assert_eq!(up.seen("cloaked.example.com"), 1);
    let d = g.dig(&["nx.example.org"]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.text);
    assert_eq!(g.dig(&["nx.example.org"]).status, "NXDOMAIN");
    assert_eq!(up.seen("nx.example.org"), 1, "negative answer cached");
    // kdig over TCP, when installed
    if Path::new("/usr/bin/kdig").exists() {
        let out = Command::new("/usr/bin/kdig")
            .args([
                "@127.0.0.1",
                "-p",
                &g.addr.port().to_string(),
                "+tcp",
                "+short",
                "allowed.example.com",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "192.0.2.10");
    }
}

#[test]
fn config_file_nxdomain_and_flags_win() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("config");
    lists(&dir);
    std::fs::write(
        dir.join("guard.toml"),
        format!("upstream = [\"{}\"]\nblock = [\"list.txt\"]\nblocked-answer = \"nxdomain\"\ncache-size = 100\n", up.addr),
    )
    .unwrap();
    let g = Guard::start(&dir, &["--config", "guard.toml"]);
    assert_eq!(g.dig(&["ads.example.com"]).status, "NXDOMAIN");
    assert_eq!(g.dig(&["cloaked.example.com"]).status, "NXDOMAIN");
    drop(g);
    let dir = tempdir("config2");
    lists(&dir);
    std::fs::write(
        dir.join("guard.toml"),
        format!(
            "upstream = [\"{}\"]\nblock = [\"list.txt\"]\nblocked-answer = \"nxdomain\"\n",
            up.addr
        ),
    )
    .unwrap();
    let g = Guard::start(&dir, &["--config", "guard.toml", "--blocked-answer", "refused"]);
    assert_eq!(g.dig(&["ads.example.com"]).status, "REFUSED");
    // an unknown key is an error naming the file
    std::fs::write(dir.join("bad.toml"), "upstreams = [\"127.0.0.1\"]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .args(["guard", "--config"])
        .arg(dir.join("bad.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
}

#[test]
fn truncation_and_tcp_fallback() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("tcp");
    let g = Guard::start(&dir, &["--upstream", &up.addr.to_string()]);
    // the guard itself had to ask over TCP (its UDP answer came back truncated)
    let d = g.dig(&["+ignore", "big.example.com", "TXT"]);
    assert!(d.flags.split_whitespace().any(|f| f == "tc"), "{}", d.text);
    assert!(d.answers.is_empty());
    assert_eq!(up.seen("tcp:big.example.com"), 1);
    let d = g.dig(&["big.example.com", "TXT"]);
    assert_eq!(d.answers.len(), 40, "{}", d.text);
    assert!(d.text.contains("(TCP)"), "dig retried over TCP: {}", d.text);
    assert_eq!(g.dig(&["+tcp", "big.example.com", "TXT"]).answers.len(), 40);
    // without EDNS, the 512-byte limit applies to an answer that fits in 1232
    assert_eq!(g.dig(&["+noedns", "allowed.example.com"]).answers, vec!["192.0.2.10".to_owned()]);
}

#[test]
fn upstream_down_servfail_fast_and_failover() {
    if !have_dig() {
        return;
    }
    // a socket that never answers
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dir = tempdir("down");
    let g = Guard::start(
        &dir,
        &["--upstream", &silent.local_addr().unwrap().to_string(), "--upstream-timeout", "300"],
    );
    let t = Instant::now();
    let d = g.dig(&["allowed.example.com"]);
    assert_eq!(d.status, "SERVFAIL", "{}", d.text);
    assert!(t.elapsed() < Duration::from_millis(1500), "{:?}", t.elapsed());
    drop(g);
    let up = Upstream::start();
    let dir = tempdir("failover");
    let g = Guard::start(
        &dir,
        &[
            "--upstream",
            &silent.local_addr().unwrap().to_string(),
            "--upstream",
            &up.addr.to_string(),
            "--upstream-timeout",
            "300",
        ],
    );
    assert_eq!(g.dig(&["allowed.example.com"]).answers, vec!["192.0.2.10".to_owned()]);
    // the good upstream is remembered: the silent one is not asked again
    silent.set_nonblocking(true).unwrap();
    let drain = || std::iter::from_fn(|| silent.recv_from(&mut [0; 512]).ok()).count();
    assert!(drain() >= 1);
    assert_eq!(g.dig(&["nx.example.org"]).status, "NXDOMAIN");
    assert_eq!(drain(), 0);
    // an upstream that never answers one name: SERVFAIL within the deadline
    let t = Instant::now();
    assert_eq!(g.dig(&["quiet.example.com"]).status, "SERVFAIL");
    assert!(t.elapsed() < Duration::from_millis(1500));
}

#[test]
fn outside_allowed_networks_refused() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("acl");
    let g =
        Guard::start(&dir, &["--upstream", &up.addr.to_string(), "--allow-net", "127.0.0.1/32"]);
    assert_eq!(g.dig(&["allowed.example.com"]).status, "NOERROR");
    let d = g.dig(&["-b", "127.0.0.2", "allowed.example.com"]);
    assert_eq!(d.status, "REFUSED", "{}", d.text);
    assert_eq!(up.seen("allowed.example.com"), 1);
}

#[test]
fn rate_limit_refuses() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("rate");
    let g = Guard::start(&dir, &["--upstream", &up.addr.to_string(), "--rate-limit", "5"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut refused = 0;
    for id in 0..20 {
        let r = ask(&sock, g.addr, id, "allowed.example.com").expect("an answer");
        refused += usize::from(r[3] & 0x0f == 5);
    }
    assert!((10..=15).contains(&refused), "{refused} refused");
}

/// Sends a query from `sock` and waits for the answer with the same id.
fn ask(sock: &UdpSocket, to: SocketAddr, id: u16, name: &str) -> Option<Vec<u8>> {
    sock.send_to(&DnsMessage::query(id, name, qtype::A).encode(), to).ok()?;
    let mut buf = [0u8; 4096];
    loop {
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        if n >= 12 && buf[..2] == id.to_be_bytes() {
            return Some(buf[..n].to_vec());
        }
    }
}

fn answers_zero(r: &[u8]) -> bool {
    r.len() >= 4 && r[r.len() - 4..] == [0, 0, 0, 0] && r[7] == 1
}

#[test]
fn garbage_and_truncated_packets() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("garbage");
    lists(&dir);
    let g = Guard::start(&dir, &["--upstream", &up.addr.to_string(), "--block", "list.txt"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let good = DnsMessage::query(0x4242, "ads.example.com", qtype::A).with_edns(1232).encode();
    for n in 0..good.len() {
        sock.send_to(&good[..n], g.addr).unwrap();
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 600) as usize;
        let mut p: Vec<u8> = (0..len).map(|k| (x >> (k % 56)) as u8 ^ k as u8).collect();
        if i % 2 == 0 && p.len() > 12 {
            p[2] &= 0x7f; // a query header, garbage after it
            p[4..6].copy_from_slice(&[0, 1]);
        }
        sock.send_to(&p, g.addr).unwrap();
    }
    // a header-only query (QDCOUNT 1, no question): FORMERR; opcode 2: NOTIMP (a fresh socket:
    // the answers to the garbage may have filled the first one's buffer)
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut formerr = false;
    let mut notimp = false;
    let mut bad = good.clone();
    bad[2] = 0x10;
    bad[0] = 0x77;
    let mut buf = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end && !(formerr && notimp) {
        // sent again until answered: the garbage burst may have filled the guard's buffer
        sock.send_to(&good[..12], g.addr).unwrap();
        sock.send_to(&bad, g.addr).unwrap();
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            formerr |= n >= 12 && buf[..2] == [0x42, 0x42] && buf[3] & 0x0f == 1;
            notimp |= n >= 12 && buf[0] == 0x77 && buf[3] & 0x0f == 4;
        }
    }
    assert!(formerr && notimp, "FORMERR {formerr}, NOTIMP {notimp}");
    // TCP: garbage, a short message, a connection closed mid-length
    for junk in [
        &b"\x00\x05hello"[..],
        b"\x00",
        b"\x00\x0c\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00",
        b"\xff\xff\x01",
    ] {
        let mut c = TcpStream::connect(g.addr).unwrap();
        let _ = c.write_all(junk);
    }
    // still answering, over UDP and TCP
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert!(answers_zero(&ask(&sock, g.addr, 7, "ads.example.com").unwrap()));
    assert_eq!(g.dig(&["+tcp", "allowed.example.com"]).answers, vec!["192.0.2.10".to_owned()]);
    assert!(g.stderr().lines().all(|l| !l.contains("panicked")), "{}", g.stderr());
}

#[test]
fn sighup_reload_under_load() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("hup");
    lists(&dir);
    let g = Guard::start(&dir, &["--upstream", &up.addr.to_string(), "--block", "list.txt"]);
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, st) = (g.addr, Arc::clone(&stop));
    let load = thread::spawn(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let (mut sent, mut lost) = (0u32, 0u32);
        let names =
            ["allowed.example.com", "ads.example.com", "newly.example.com", "nx.example.org"];
        while !st.load(Ordering::Relaxed) || sent < 200 {
            let id = sent as u16;
            if ask(&sock, addr, id, names[sent as usize % names.len()]).is_none() {
                lost += 1;
            }
            sent += 1;
        }
        (sent, lost)
    });
    thread::sleep(Duration::from_millis(100));
    assert_eq!(g.dig(&["newly.example.com"]).status, "NOERROR");
    std::fs::write(dir.join("list.txt"), "ads.example.com\nnewly.example.com\n").unwrap();
    g.signal("-HUP");
    g.wait_for("guard: reloaded", Duration::from_secs(5));
    thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let (sent, lost) = load.join().unwrap();
    assert_eq!(lost, 0, "{lost} of {sent} queries unanswered");
    assert_eq!(g.dig(&["newly.example.com"]).answers, vec!["0.0.0.0".to_owned()]);
    assert!(g.stderr().contains("2 block rules"), "{}", g.stderr());
    // a broken config at reload keeps the old lists
    std::fs::remove_file(dir.join("list.txt")).unwrap();
    g.signal("-HUP");
    g.wait_for("reload failed", Duration::from_secs(5));
    assert_eq!(g.dig(&["newly.example.com"]).answers, vec!["0.0.0.0".to_owned()]);
}

#[test]
fn sigterm_finishes_in_flight_and_flushes_log() {
    if !have_dig() {
        return;
    }
    let up = Upstream::start();
    let dir = tempdir("term");
    lists(&dir);
    let mut g = Guard::start(
        &dir,
        &["--upstream", &up.addr.to_string(), "--block", "list.txt", "--db", "guard.sqlite"],
    );
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let quick = 50u16;
    for id in 0..quick {
        let name = if id % 2 == 0 { "ads.example.com" } else { "allowed.example.com" };
        ask(&sock, g.addr, id, name).expect("answer");
    }
    ask(&sock, g.addr, 999, "cloaked.example.com").expect("answer");
    // slow queries in flight when SIGTERM arrives
    let addr = g.addr;
    let slow: Vec<_> = (0..5)
        .map(|i| {
            thread::spawn(move || {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                ask(&s, addr, 1000 + i, "slow.example.com")
            })
        })
        .collect();
    let end = Instant::now() + Duration::from_secs(2);
    while up.seen("slow.example.com") < 5 && Instant::now() < end {
        thread::sleep(Duration::from_millis(5));
    }
    g.signal("-TERM");
    for t in slow {
        let r = t.join().unwrap().expect("in-flight query answered after SIGTERM");
        assert_eq!(r[3] & 0x0f, 0);
    }
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = g.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "guard did not exit: {}", g.stderr());
        thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}: {}", g.stderr());
    let stats =
        guard::querylog::stats(&dir.join("guard.sqlite"), &guard::querylog::StatsQuery::default())
            .unwrap();
    assert_eq!(stats.total, u64::from(quick) + 6, "{}", g.stderr());
    assert_eq!(stats.verdicts.blocked, u64::from(quick) / 2 + 1);
    // the cloaked name is logged with the rule that matched its CNAME target
    let cloaked = stats.top_blocked.iter().find(|n| n.name == "cloaked.example.com").unwrap();
    assert!(
        cloaked.rule.as_deref().is_some_and(|r| r.starts_with("shop.tracker.example")),
        "{cloaked:?}"
    );
    assert_eq!(stats.verdicts.allowed + stats.verdicts.cached, u64::from(quick) / 2 + 5);
    let slow_rows =
        stats.top_allowed.iter().find(|n| n.name == "slow.example.com").map(|n| n.queries);
    assert_eq!(slow_rows, Some(5));
    let blocked = &stats.top_blocked[0];
    assert_eq!(blocked.name, "ads.example.com");
    assert!(blocked.rule.as_deref().is_some_and(|r| r.contains("list.txt")), "{blocked:?}");
}
