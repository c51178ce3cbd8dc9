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

/// In the internet: HTTPS on port 8444 (python's http.server behind ssl), certificate and key
/// from the folder given.
pub(crate) const HTTPS_SERVER: &str = r#"
import http.server, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1] + '/tls.crt', sys.argv[1] + '/tls.key')
class S(http.server.ThreadingHTTPServer):
    address_family = __import__('socket').AF_INET6
class H(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        # HTTP/3 offered on the same port (nothing serves it: a browser that tries falls back)
        self.send_header('Alt-Svc', 'h3=":8444"; ma=3600')
        super().end_headers()
s = S(('::', 8444), H)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
"#;

/// In the phone: GET `url` over TLS with SNI `name`, the session's secrets appended to the key
/// log `keylog` (as SSLKEYLOGFILE does); prints the status or the error.
pub(crate) const GET_TLS: &str = r#"
import http.client, ssl, sys
url, name, keylog = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = keylog
host, path = url.split('/', 1)
try:
    c = http.client.HTTPSConnection(host, 8444, context=ctx, timeout=5)
    c.sock = ctx.wrap_socket(__import__('socket').create_connection((host, 8444), timeout=5), server_hostname=name)
    c.request('GET', '/' + path, headers={'Host': name})
    print(c.getresponse().status)
except Exception as e:
    print('error', type(e).__name__, e)
"#;

/// A page that fetches `data.txt` three times, 300 ms apart (the first answer's Alt-Svc makes a
/// browser try HTTP/3 for the next), and shows the outcomes in `#r`.
const FETCH3: &[u8] = br#"<html><body><div id=r>waiting</div><script>
async function go() {
  let out = [];
  for (let i = 0; i < 3; i++) {
    try { let r = await fetch('/data.txt?' + i, {cache: 'no-store'});
          out.push(r.status + ':' + (await r.text()).trim()); }
    catch (e) { out.push('error'); }
    await new Promise(r => setTimeout(r, 300));
  }
  document.getElementById('r').textContent = out.join(' ');
}
go();
</script></body></html>
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
        std::fs::write(dir.join("www/fetch3.html"), FETCH3).unwrap();
        std::fs::write(dir.join("www/data.txt"), b"fine\n").unwrap();
        std::fs::write(dir.join("profile.toml"), PROFILE).unwrap();
        std::fs::write(dir.join("block.txt"), b"tracker.example\n198.51.100.11\n").unwrap();
        std::fs::write(dir.join("policy.toml"), b"min_severity = \"high\"\n").unwrap();
        // A second web address (blocked by address) and a TCP listener for TLS clients.
        testkit::netns::ok(&inet, "ip addr add 198.51.100.11/24 dev ti1");
        // An HTTPS server's certificate (self-signed, for secure.example).
        let o = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
            .args(["-nodes", "-days", "2", "-subj", "/CN=secure.example"])
            .args(["-addext", "subjectAltName=DNS:secure.example"])
            .arg("-keyout")
            .arg(dir.join("tls.key"))
            .arg("-out")
            .arg(dir.join("tls.crt"))
            .output()
            .expect("openssl");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let certs = dir.to_str().unwrap().to_string();
        for (program, args) in [
            ("python3", vec!["-m", "http.server", "8080", "--bind", "::"]),
            ("python3", vec!["-c", DNS_SERVER]),
            ("python3", vec!["-c", LISTENER]),
            ("python3", vec!["-c", HTTPS_SERVER, certs.as_str()]),
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
        // The internet's servers are up before anything asks them (python starts slowly on a
        // loaded machine): its DNS answers and its web server accepts.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let dns = sh(&gw, "dig +short +tries=1 +time=1 @198.51.100.10 up.example A");
            let web = sh(
                &gw,
                "python3 -c \"import socket; socket.create_connection(('198.51.100.10', 8080), 1)\"",
            );
            if String::from_utf8_lossy(&dns.stdout).trim() == "198.51.100.10"
                && web.status.success()
            {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the internet's servers did not start");
            std::thread::sleep(Duration::from_millis(100));
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

    /// SIGHUP: the guard reads its lists again (and hands them to the gateway's filter); waits
    /// for its word on it, which is returned.
    pub(crate) fn reload(&mut self) -> String {
        assert!(Command::new("kill").args(["-HUP", &self.pid]).status().unwrap().success());
        let mut line = String::new();
        while !line.contains("guard: reload") {
            line.clear();
            assert!(self.stderr.read_line(&mut line).unwrap() > 0, "the gateway ended");
        }
        line
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
        if std::env::var_os("PHONEHOME_KEEP").is_some() {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
