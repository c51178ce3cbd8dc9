//! `phonehome vpn init` and `vpn peers`: the state, the devices' configurations, and the QR code
//! checked with real tools: zbarimg (zbar-tools) decodes it to exactly the printed configuration,
//! and WireGuard's own `wg pubkey` agrees with the keys (both skipped with a message when missing,
//! unless `PHONEHOME_VPN_TEST=require`, as in CI).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phonehome")).args(args).output().expect("run phonehome")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phonehome-vpn-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tool(name: &str, suite: &str) -> bool {
    if Command::new(name).arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    {
        return true;
    }
    assert!(
        std::env::var("PHONEHOME_VPN_TEST").as_deref() != Ok("require"),
        "PHONEHOME_VPN_TEST=require but {name} is missing"
    );
    testkit::skip::skip(suite, &format!("{name} is not installed"));
    false
}

fn field<'a>(conf: &'a str, key: &str) -> &'a str {
    conf.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in {conf}"))
}

#[test]
fn init_and_peers_make_configurations_a_wireguard_app_takes() {
    let dir = temp("state");
    let state = dir.to_str().unwrap();
    let o = run(&["vpn", "init", "--state", state, "--endpoint", "vpn.example.org:51820"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let conf = text(&o);
    assert!(conf.contains("[Interface]\nPrivateKey = ") && conf.contains("\n[Peer]\nPublicKey = "));
    assert_eq!(field(&conf, "Endpoint"), "vpn.example.org:51820");
    assert_eq!(field(&conf, "AllowedIPs"), "0.0.0.0/0, ::/0");
    assert_eq!(field(&conf, "Address"), "10.77.0.2/32, fd77:7068:6f6e:6500::2/128");
    assert!(!conf.contains('█'), "no QR code on a pipe unless asked");
    // Again: refused, the state kept.
    let again = run(&["vpn", "init", "--state", state, "--endpoint", "vpn.example.org:51820"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(text(&run(&["vpn", "peers", "show", "phone", "--state", state])), conf);

    let tablet = run(&["vpn", "peers", "add", "tablet", "--state", state, "--qr"]);
    assert!(tablet.status.success());
    let tablet = text(&tablet);
    assert_eq!(field(&tablet, "Address"), "10.77.0.3/32, fd77:7068:6f6e:6500::3/128");
    assert!(tablet.contains('█'), "--qr draws it");
    let list = text(&run(&["vpn", "peers", "list", "--state", state]));
    let names: Vec<&str> = list.lines().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(names, ["phone", "tablet"]);
    assert!(run(&["vpn", "peers", "remove", "tablet", "--state", state]).status.success());
    assert_eq!(run(&["vpn", "peers", "remove", "tablet", "--state", state]).status.code(), Some(2));
    assert_eq!(run(&["vpn", "peers", "add", "a/b", "--state", state]).status.code(), Some(2));
    assert_eq!(run(&["vpn", "peers", "list", "--state", "/nonexistent"]).status.code(), Some(2));

    // WireGuard's own tool derives the same public keys.
    if tool("wg", "vpn (wg pubkey)") {
        let pubkey = |private: &str| {
            let mut c = Command::new("wg")
                .arg("pubkey")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            c.stdin.take().unwrap().write_all(format!("{private}\n").as_bytes()).unwrap();
            String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).trim().to_string()
        };
        let phone_public = list.lines().next().unwrap().split('\t').nth(3).unwrap();
        assert_eq!(pubkey(field(&conf, "PrivateKey")), phone_public);
        let server = std::fs::read_to_string(dir.join("server.key")).unwrap();
        assert_eq!(pubkey(server.trim()), field(&conf, "PublicKey"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_qr_code_decodes_to_the_printed_configuration() {
    let dir = temp("qr");
    let state = dir.join("s");
    let png = dir.join("phone.png");
    let svg = dir.join("phone.svg");
    std::fs::create_dir_all(&dir).unwrap();
    let o = run(&[
        "vpn",
        "init",
        "--state",
        state.to_str().unwrap(),
        "--endpoint",
        "192.0.2.7:51820",
        "--qr-out",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let conf = text(&o);
    let o = run(&["vpn", "peers", "show", "phone", "--state", state.to_str().unwrap(), "--qr-out"]
        .iter()
        .copied()
        .chain([svg.to_str().unwrap()])
        .collect::<Vec<_>>());
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    #[cfg(unix)]
    for f in [&png, &svg] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600);
    }
    if tool("zbarimg", "vpn (QR code decoded by zbarimg)") {
        let decoded = Command::new("zbarimg").args(["--raw", "-q"]).arg(&png).output().unwrap();
        assert!(decoded.status.success(), "{}", String::from_utf8_lossy(&decoded.stderr));
        // zbarimg ends the text with a line feed of its own.
        let got = String::from_utf8_lossy(&decoded.stdout);
        assert_eq!(got.strip_suffix('\n').unwrap_or(&got), conf);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `vpn --state DIR` starts the gateway (TUN device, nftables table) in a network namespace and
/// stops cleanly on SIGTERM, its table removed (root only; forwarding itself is tested end to end
/// in crates/vpn/tests/gateway.rs).
#[test]
fn the_gateway_starts_and_stops_cleanly() {
    let uid = Command::new("id").arg("-u").output().map(|o| o.stdout).unwrap_or_default();
    if String::from_utf8_lossy(&uid).trim() != "0" || !tool("nft", "vpn (gateway start and stop)") {
        testkit::skip::skip("vpn (gateway start and stop)", "not root");
        return;
    }
    // No state yet, none given: the first run makes it where PHONEHOME_VPN_STATE says and
    // shows the phone's configuration and QR code.
    let dir = temp("run");
    let _ = std::fs::create_dir_all(&dir);
    let state_dir = dir.join("state");
    // The namespace, and the gateway in it, go whatever happens.
    let mut net = testkit::netns::Net::new(&format!("phvr{}", std::process::id()), &[""]);
    let ns = net.names[0].clone();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns, env!("CARGO_BIN_EXE_phonehome"), "vpn"])
        .args(["--listen", "127.0.0.1:51820", "--upstream", "192.0.2.53"])
        .args(["--endpoint", "192.0.2.7:51820"])
        .env("PHONEHOME_VPN_STATE", &state_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(out), &mut text);
        text
    });
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let pid = child.id().to_string();
    net.children.push(child);
    let mut line = String::new();
    while !line.contains("VPN gateway on") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0);
    }
    assert!(
        line.starts_with(
            "phonehome: VPN gateway on udp 127.0.0.1:51820 (phvpn0, 1 devices: phone;"
        ),
        "{line}"
    );
    let tables =
        Command::new("ip").args(["netns", "exec", &ns, "nft", "list", "tables"]).output().unwrap();
    assert!(String::from_utf8_lossy(&tables.stdout).contains("phonehome_vpn"));
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = net.children[0].wait().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("VPN gateway stopped"), "{rest}");
    let shown = stdout.join().unwrap();
    assert!(shown.contains("[Interface]\nPrivateKey = "), "{shown}");
    assert!(shown.contains("Endpoint = 192.0.2.7:51820") && shown.contains('█'), "{shown}");
    assert!(state_dir.join("vpn.toml").exists() && state_dir.join("server.key").exists());
    let tables =
        Command::new("ip").args(["netns", "exec", &ns, "nft", "list", "tables"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&tables.stdout).contains("phonehome_vpn"), "table removed");
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
