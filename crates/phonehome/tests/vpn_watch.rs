//! `phonehome vpn` watching a real WireGuard phone, end to end, in three network namespaces made
//! (and removed) here: a "phone" running wireguard-go configured from the text `vpn init`
//! printed, with every route into the tunnel; the "gateway" running `phonehome vpn` with a
//! profile, `--write`, `--jsonl` and `-o`; an "internet" with python3's web server and a small
//! DNS server (every name: 198.51.100.10 and 2001:db8:100::10). The phone resolves through the
//! gateway's guard (dig) and sends a planted IMEI over IPv4 and IPv6 (python3). Checked: the
//! guard's answers (a blocked name gets 0.0.0.0), the live findings with the device's name,
//! the final report, its findings the same as `analyze` of the pcapng written for the device,
//! and the clean stop. Root only (CI); skipped with a message elsewhere, unless
//! `PHONEHOME_VPN_TEST=require`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use testkit::netns::sh;

/// A DNS server for the "internet": A and AAAA answers for every name.
const DNS_SERVER: &str = r#"
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
const GET: &str = r#"
import sys, urllib.request
try:
    r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers={'Host': sys.argv[2]}), timeout=5)
    print(r.status)
except Exception as e:
    print('error', type(e).__name__, e)
"#;

const PROFILE: &str = "name = \"vpn test phone\"\n[identifiers]\nimei = [\"865123045678905\"]\n";

fn phonehome() -> &'static str {
    env!("CARGO_BIN_EXE_phonehome")
}

fn findings_of(doc: &Value) -> BTreeSet<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {} x{} {}",
                f["device"], f["data"], f["item"], f["host"], f["where"], f["count"], f["encoding"]
            )
        })
        .collect()
}

#[test]
fn the_gateway_watches_a_wireguard_phone_and_its_dns_goes_to_the_guard() {
    if !testkit::netns::can_run(
        "PHONEHOME_VPN_TEST",
        "vpn (watching a wireguard-go phone)",
        &["wireguard-go", "wg", "ip", "nft", "python3", "dig"],
    ) {
        return;
    }
    let id = std::process::id();
    let (mut net, [phone, gw, inet]) =
        testkit::netns::phone_gateway_internet(&format!("phx{id}"), 195);
    let dir = std::env::temp_dir().join(format!("phonehome-vpn-watch-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www/index.html"), b"ok\n").unwrap();
    std::fs::write(dir.join("profile.toml"), PROFILE).unwrap();
    std::fs::write(dir.join("block.txt"), b"tracker.example\n").unwrap();
    for (program, args) in [
        ("python3", vec!["-m", "http.server", "8080", "--bind", "::"]),
        ("python3", vec!["-c", DNS_SERVER]),
    ] {
        let child = Command::new("ip")
            .args(["netns", "exec", &inet, program])
            .args(args)
            .current_dir(dir.join("www"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        net.children.push(child);
    }

    let state = dir.join("state");
    let init = Command::new(phonehome())
        .args(["vpn", "init", "--state", state.to_str().unwrap(), "--endpoint", "10.195.0.1:51820"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let conf = String::from_utf8(init.stdout).unwrap();
    assert!(conf.contains("DNS = 10.77.0.1, fd77:7068:6f6e:6500::1"), "{conf}");

    let d = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let mut gateway = Command::new("ip")
        .args(["netns", "exec", &gw, phonehome(), "vpn", "--state", &d("state")])
        .args(["--listen", "10.195.0.1:51820", "--upstream", "198.51.100.10"])
        .args(["--profile", &d("profile.toml"), "--no-cache", "--no-geo"])
        .args(["--block", &d("block.txt"), "--write", &d("s.pcapng"), "-o", &d("report.json")])
        .args(["--jsonl", "--refresh", "0.2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = gateway.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>()
    });
    let stderr = gateway.stderr.take().unwrap();
    let mut stderr = BufReader::new(stderr);
    // Stopped (and its namespace gone) whatever happens.
    let pid = gateway.id().to_string();
    let gateway_at = net.children.len();
    net.children.push(gateway);
    let mut head = String::new();
    while !head.contains("VPN gateway on") {
        assert!(stderr.read_line(&mut head).unwrap() > 0, "{head}");
    }
    assert!(head.contains("VPN gateway on udp 10.195.0.1:51820"), "{head}");
    assert!(head.contains("guard: listening on 10.77.0.1:53, [fd77:7068:6f6e:6500::1]:53"));

    testkit::netns::phone(
        &mut net,
        &phone,
        &conf,
        &dir,
        "ip route add default dev wgp0 && ip -6 route add default dev wgp0",
    );
    // The phone's DNS: the guard on the gateway's tunnel addresses, over both families.
    let dig = |server: &str, name: &str, kind: &str| {
        let o = sh(&phone, &format!("dig +short +tries=3 +time=2 @{server} {name} {kind}"));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(dig("10.77.0.1", "collector.example", "A"), "198.51.100.10");
    assert_eq!(dig("fd77:7068:6f6e:6500::1", "collector.example", "AAAA"), "2001:db8:100::10");
    assert_eq!(dig("10.77.0.1", "tracker.example", "A"), "0.0.0.0", "blocked by the guard");
    // The planted IMEI, over IPv4 and IPv6.
    let get = |url: &str, host: &str| {
        let o = Command::new("ip")
            .args(["netns", "exec", &phone, "python3", "-c", GET, url, host])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(get("http://198.51.100.10:8080/?imei=865123045678905", "collector.example"), "200");
    assert_eq!(
        get("http://[2001:db8:100::10]:8080/?id=865123045678905", "collector6.example"),
        "200"
    );
    // A refresh or two, for the live stream to show the findings before the stop.
    std::thread::sleep(Duration::from_millis(600));

    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = net.children[gateway_at].wait().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert_eq!(status.code(), Some(1), "findings: exit 1, as analyze; {rest}");
    assert!(rest.contains("VPN gateway stopped"), "{rest}");
    let lines = lines.join().unwrap();
    let live: Vec<Value> = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let live_imei = live
        .iter()
        .filter(|l| l["event"] == "finding")
        .any(|l| l["finding"]["data"] == "imei" && l["finding"]["device"] == "phone");
    assert!(live_imei, "{lines:?}");

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let found = findings_of(&report);
    let imei: Vec<&String> = found.iter().filter(|f| f.contains("\"imei\"")).collect();
    assert_eq!(imei.len(), 2, "IPv4 and IPv6: {found:?}");
    assert!(imei.iter().all(|f| f.starts_with("\"phone\"")), "{imei:?}");
    assert!(
        found.iter().any(|f| f.contains("\"collector.example\"")),
        "named by its DNS: {found:?}"
    );
    let capture = &report["captures"][0];
    assert_eq!(capture["device"], "phone");
    assert_eq!(capture["path"], d("s-phone.pcapng"));
    assert!(capture["sha256"].is_string() && capture["packets"].as_u64().unwrap() > 20);
    // The same findings from the pcapng, analysed afterwards.
    let again = Command::new(phonehome())
        .args(["analyze", &d("s-phone.pcapng"), "--profile", &d("profile.toml"), "--no-cache"])
        .args(["--no-geo", "--device", "phone", "--format", "json"])
        .output()
        .unwrap();
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(findings_of(&again), found);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("s-phone.pcapng")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let after = sh(&gw, "nft list tables");
    assert!(!String::from_utf8_lossy(&after.stdout).contains("phonehome_vpn"));
    drop(net);
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
