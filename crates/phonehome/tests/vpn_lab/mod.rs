//! The VPN tests' lab: three network namespaces (a wireguard-go "phone", a "gateway" running
//! `phonehome vpn`, an "internet" with a web server, a DNS server and a TCP listener), made and
//! removed by [`Lab`]. Root only; `Lab::start` skips with a message elsewhere (a failure with
//! `PHONEHOME_VPN_TEST=require`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use testkit::netns::{Net, sh};

/// A DNS server for the "internet": A and AAAA answers for every name.
pub(crate) const DNS_SERVER: &str = r#"
import socket, struct, threading
def serve(fam, addr):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        q, peer = s.recvfrom(512)
        i = 12
        while i < len(q) and q[i]:
            i += q[i] + 1
        qtype = struct.unpack('>H', q[i+1:i+3])[0]
        question = q[12:i+5]
        if qtype == 1:
            rr = struct.pack('>HHHIH', 0xc00c, 1, 1, 60, 4) + socket.inet_pton(socket.AF_INET, '198.51.100.10')
        elif qtype == 28:
            rr = struct.pack('>HHHIH', 0xc00c, 28, 1, 60, 16) + socket.inet_pton(socket.AF_INET6, '2001:db8:100::10')
        else:
            rr = b''
        head = q[:2] + struct.pack('>HHHHH', 0x8180, 1, 1 if rr else 0, 0, 0)
        s.sendto(head + question + rr, peer)
threading.Thread(target=serve, args=(socket.AF_INET6, '2001:db8:100::10'), daemon=True).start()
serve(socket.AF_INET, '198.51.100.10')
"#;

/// In the phone: GET `url` with `Host: host`; prints the status or the error.
pub(crate) const GET: &str = r#"
import sys, urllib.request
try:
    r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers={'Host': sys.argv[2]}), timeout=5)
    print(r.status)
except Exception as e:
    print('error', type(e).__name__, e)
"#;

/// In the internet: a TCP listener on 8443 that reads what comes and closes (a TLS client
/// gets EOF, never a reset).
pub(crate) const LISTENER: &str = r#"
import socket, threading
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', 8443)); s.listen(16)
def serve(c):
    c.settimeout(2)
    try:
        c.recv(65536)
    except Exception:
        pass
    c.shutdown(socket.SHUT_WR); c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

pub(crate) const PROFILE: &str =
    "name = \"vpn test phone\"\n[identifiers]\nimei = [\"865123045678905\"]\n";

pub(crate) fn phonehome() -> &'static str {
    env!("CARGO_BIN_EXE_phonehome")
}

/// A phone, a gateway running `phonehome vpn` with `extra` flags (besides a profile, `--write`,
/// `--jsonl` and `-o`; `{dir}` in them is the test's folder) and an internet with a web and a
/// DNS server and a TCP listener; everything goes on drop.
pub(crate) struct Lab {
    pub(crate) net: Net,
    pub(crate) phone: String,
    pub(crate) gw: String,
    pub(crate) dir: std::path::PathBuf,
    pid: String,
    gateway_at: usize,
    stdout: Option<std::thread::JoinHandle<Vec<String>>>,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Lab {
    /// `None` (after a skip message) when the test cannot run here.
    pub(crate) fn start(name: &str, octet: u8, extra: &[&str]) -> Option<Self> {
        if !testkit::netns::can_run(
            "PHONEHOME_VPN_TEST",
            name,
            &["wireguard-go", "wg", "ip", "nft", "python3", "dig"],
        ) {
            return None;
        }
        let id = std::process::id();
        let (mut net, [phone, gw, inet]) =
            testkit::netns::phone_gateway_internet(&format!("ph{octet}x{id}"), octet);
        let dir = std::env::temp_dir().join(format!("phonehome-vpn-watch-{octet}-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::write(dir.join("www/index.html"), b"ok\n").unwrap();
        std::fs::write(dir.join("profile.toml"), PROFILE).unwrap();
        std::fs::write(dir.join("block.txt"), b"tracker.example\n198.51.100.11\n").unwrap();
        std::fs::write(dir.join("policy.toml"), b"min_severity = \"high\"\n").unwrap();
        // A second web address (blocked by address) and a TCP listener for TLS clients.
        testkit::netns::ok(&inet, "ip addr add 198.51.100.11/24 dev ti1");
        for (program, args) in [
            ("python3", vec!["-m", "http.server", "8080", "--bind", "::"]),
            ("python3", vec!["-c", DNS_SERVER]),
            ("python3", vec!["-c", LISTENER]),
        ] {
            // The web server's request log: what reached the internet.
            let log = std::fs::File::create(dir.join(format!("{}.log", net.children.len())));
            let child = Command::new("ip")
                .args(["netns", "exec", &inet, program])
                .args(args)
                .current_dir(dir.join("www"))
                .stdout(Stdio::null())
                .stderr(log.map_or_else(|_| Stdio::null(), Stdio::from))
                .spawn()
                .unwrap();
            net.children.push(child);
        }
        let state = dir.join("state");
        let endpoint = format!("10.{octet}.0.1:51820");
        let init = Command::new(phonehome())
            .args(["vpn", "init", "--state", state.to_str().unwrap(), "--endpoint", &endpoint])
            .output()
            .unwrap();
        assert!(init.status.success());
        let conf = String::from_utf8(init.stdout).unwrap();
        assert!(conf.contains("DNS = 10.77.0.1, fd77:7068:6f6e:6500::1"), "{conf}");
        let d = |name: &str| dir.join(name).to_str().unwrap().to_string();
        let mut gateway = Command::new("ip")
            .args(["netns", "exec", &gw, phonehome(), "vpn", "--state", &d("state")])
            .args(["--listen", &endpoint, "--upstream", "198.51.100.10"])
            .args(["--profile", &d("profile.toml"), "--no-cache", "--no-geo"])
            .args(["--block", &d("block.txt"), "--write", &d("s.pcapng"), "-o", &d("report.json")])
            .args(["--jsonl", "--refresh", "0.2"])
            .args(extra.iter().map(|a| a.replace("{dir}", dir.to_str().unwrap())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = gateway.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>()
        });
        let mut stderr = BufReader::new(gateway.stderr.take().unwrap());
        // Stopped (and its namespace gone) whatever happens.
        let pid = gateway.id().to_string();
        let gateway_at = net.children.len();
        net.children.push(gateway);
        let mut head = String::new();
        while !head.contains("VPN gateway on") {
            assert!(stderr.read_line(&mut head).unwrap() > 0, "{head}");
        }
        assert!(head.contains(&format!("VPN gateway on udp {endpoint}")), "{head}");
        assert!(head.contains("guard: listening on 10.77.0.1:53, [fd77:7068:6f6e:6500::1]:53"));
        testkit::netns::phone(
            &mut net,
            &phone,
            &conf,
            &dir,
            "ip route add default dev wgp0 && ip -6 route add default dev wgp0",
        );
        Some(Self { net, phone, gw, dir, pid, gateway_at, stdout: Some(stdout), stderr })
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// `dig +short` in the phone.
    pub(crate) fn dig(&self, server: &str, name: &str, kind: &str) -> String {
        let o = sh(&self.phone, &format!("dig +short +tries=3 +time=2 @{server} {name} {kind}"));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// A python3 script in the phone; its standard output.
    pub(crate) fn python(&self, script: &str, args: &[&str]) -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.phone, "python3", "-c", script])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// SIGTERM; the exit code, standard error's rest and the JSON lines written.
    pub(crate) fn stop(&mut self) -> (Option<i32>, String, Vec<Value>) {
        // A refresh or two, for the live stream to show everything before the stop.
        std::thread::sleep(Duration::from_millis(600));
        assert!(Command::new("kill").args(["-TERM", &self.pid]).status().unwrap().success());
        let status = self.net.children[self.gateway_at].wait().unwrap();
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stderr, &mut rest);
        let lines = self.stdout.take().unwrap().join().unwrap();
        let live = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
        (status.code(), rest, live)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
