//! `phonehome vpn` when things go wrong, in the namespaces of `vpn_lab`: the upstream resolver
//! goes down (names cached before still answered, new ones get SERVFAIL at once, traffic by
//! address goes on); and a 1 GiB download through the tunnel completes with the right checksum
//! while the phone roams to a new address and a flood of garbage and handshake initiations from
//! unknown keys hits the gateway's port (counted, answered with nothing). Root only (CI).

mod vpn_lab;

use std::process::Command;
use std::time::{Duration, Instant};

use testkit::netns::{ok, sh};
use vpn_lab::{GET, Lab};

/// In the internet: on port 8081, `GET /N` streams N MiB of a fixed pattern and prints the
/// SHA-256 of what it sent.
const STREAMER: &str = r#"
import hashlib, http.server, socketserver, sys
block = bytes(((i * 2654435761) >> 13) & 0xff for i in range(1 << 20))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        n = int(self.path.strip('/'))
        self.send_response(200)
        self.send_header('Content-Length', str(n << 20))
        self.end_headers()
        h = hashlib.sha256()
        for _ in range(n):
            self.wfile.write(block)
            h.update(block)
        print(h.hexdigest(), n << 20, flush=True)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(('198.51.100.10', 8081), H).serve_forever()
"#;

/// In the phone: GET `url`, print the SHA-256 and length of the body.
const FETCH: &str = r#"
import hashlib, sys, urllib.request
h = hashlib.sha256(); n = 0
with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        h.update(b); n += len(b)
print(h.hexdigest(), n)
"#;

/// In the phone: `count` garbage datagrams and `count` handshake initiations (random keys) to
/// `addr`:51820, over the underlay.
const FLOOD: &str = r#"
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = int(sys.argv[2])
for i in range(n):
    s.sendto(os.urandom(64 + i % 200), (sys.argv[1], 51820))
    s.sendto(b'\x01\x00\x00\x00' + os.urandom(144), (sys.argv[1], 51820))
    if i % 250 == 249:
        time.sleep(0.005)
"#;

#[test]
fn the_upstream_resolver_goes_down() {
    let Some(mut lab) = Lab::start("vpn (upstream resolver down)", 193, &[]) else { return };
    assert_eq!(lab.dig("10.77.0.1", "collector.example", "A"), "198.51.100.10");
    // The internet's DNS server stops (the lab's second child).
    let _ = lab.net.children[1].kill();
    let _ = lab.net.children[1].wait();
    let t = Instant::now();
    assert_eq!(lab.dig("10.77.0.1", "collector.example", "A"), "198.51.100.10", "from the cache");
    let o = sh(&lab.phone, "dig +tries=1 +time=8 @10.77.0.1 new.example A");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("status: SERVFAIL"), "{text}");
    assert!(t.elapsed() < Duration::from_secs(8), "answered, not left hanging: {:?}", t.elapsed());
    // Traffic by address goes on.
    assert_eq!(lab.python(GET, &["http://198.51.100.10:8080/", "collector.example"]), "200");
    let (code, rest, _) = lab.stop();
    assert!(code.is_some() && rest.contains("VPN gateway stopped"), "{rest}");
}

#[test]
fn a_large_download_survives_roaming_and_a_handshake_flood() {
    let mib: u32 =
        std::env::var("PHONEHOME_VPN_BIG_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let Some(mut lab) = Lab::start("vpn (1 GiB, roaming, flood)", 192, &[]) else { return };
    let inet = lab.net.names[2].clone();
    let server = Command::new("ip")
        .args(["netns", "exec", &inet, "python3", "-c", STREAMER])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    lab.net.children.push(server);
    std::thread::sleep(Duration::from_millis(800));
    let phone = lab.phone.clone();
    let url = format!("http://198.51.100.10:8081/{mib}");
    let started = Instant::now();
    let download = std::thread::spawn(move || {
        let o = Command::new("ip")
            .args(["netns", "exec", &phone, "python3", "-c", FETCH, &url])
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    });
    // What the server sent, from its own count (read on a thread: bounded waits).
    let out = lab.net.children.last_mut().unwrap().stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut sent);
        let _ = tx.send(sent);
    });
    let faults = std::env::var("PHONEHOME_VPN_FAULTS").unwrap_or_else(|_| "roam,flood".into());
    std::thread::sleep(Duration::from_secs(1));
    if faults.contains("roam") {
        // Roaming: the phone's underlay address changes under the download.
        // As a phone's app does on a network change, the client binds its socket again
        // (wireguard-go keeps its old source address otherwise).
        let dev = testkit::netns::phone_dev(&lab.phone);
        ok(
            &lab.phone,
            &format!(
                "sysctl -qw net.ipv4.conf.tp0.promote_secondaries=1 && \
                 ip addr add 10.192.0.3/24 dev tp0 && ip addr del 10.192.0.2/24 dev tp0 && \
                 wg set {dev} listen-port 0"
            ),
        );
    }
    if faults.contains("flood") {
        // A flood from the phone's machine, of garbage and handshakes from unknown keys.
        let flood = Command::new("ip")
            .args(["netns", "exec", &lab.phone, "python3", "-c", FLOOD, "10.192.0.1", "10000"])
            .output()
            .unwrap();
        assert!(flood.status.success());
    }
    let (got, err) = download.join().unwrap();
    let took = started.elapsed();
    let sent = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    assert_eq!(got, sent.trim(), "the bytes that arrived are the bytes sent; {err}");
    assert!(got.ends_with(&format!(" {}", u64::from(mib) << 20)));
    eprintln!(
        "{mib} MiB through the tunnel in {:.1} s, with roaming and a flood",
        took.as_secs_f64()
    );
    let (code, rest, _) = lab.stop();
    assert!(code.is_some(), "{rest}");
    // Every flood datagram counted and refused: `N datagrams refused (invalid I, unknown key K`.
    let before = rest.split(" datagrams refused").next().unwrap_or("");
    let refused: u64 = before.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    // And those the kernel dropped before the gateway could read them (its socket buffer
    // full under the flood): `N dropped by the kernel`.
    let before = rest.split(" dropped by the kernel").next().unwrap_or("");
    let dropped: u64 = before.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    eprintln!("{}", rest.lines().find(|l| l.contains("VPN gateway stopped")).unwrap_or(""));
    assert!(refused + dropped >= 20_000, "{rest}");
    // The gateway kept reading through the flood: its socket buffer holds a few thousand of
    // these at most, so a gateway that stalled would have read fewer than that.
    assert!(refused >= 8_000, "read and refused while it lasted: {rest}");
}
