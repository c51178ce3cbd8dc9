//! The gateway end to end, in three network namespaces: a "phone" running wireguard-go with its
//! default routes into the tunnel (configured from `State::phone_config`), the "gateway" (a
//! thread of this test that entered its namespace: TUN device, forwarding, nftables), and an
//! "internet" with python3's web server on IPv4 and IPv6. Checked: pages and a 4 MiB file over
//! both families (the checksum right, so MTU and MSS do not stall large transfers), every packet
//! shown to the caller, private networks and the host's own addresses out of reach, a stale
//! table from a crashed run replaced, and the table gone after the stop. Root only (CI),
//! skipped with a message elsewhere unless `PHONEHOME_VPN_TEST=require`.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use testkit::netns::{ok, sh};
use vpn::State;
use vpn::gateway::{Flow, Gateway, Options, Verdict};

/// `python3` in the phone: GET `url`, print the SHA-256 and length of the body, or the error.
fn fetch(ns: &str, url: &str) -> String {
    let script = "import sys, urllib.request, hashlib\n\
        try:\n\
        \x20   b = urllib.request.urlopen(sys.argv[1], timeout=5).read()\n\
        \x20   print(hashlib.sha256(b).hexdigest(), len(b))\n\
        except Exception as e:\n\
        \x20   print('error', type(e).__name__)\n";
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", script, url])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn a_phone_reaches_the_internet_through_the_gateway_and_nothing_else() {
    if !testkit::netns::can_run(
        "PHONEHOME_VPN_TEST",
        "vpn (gateway end to end)",
        &["wireguard-go", "wg", "ip", "nft", "python3"],
    ) {
        return;
    }
    let id = std::process::id();
    let (mut net, [phone, gw, inet]) =
        testkit::netns::phone_gateway_internet(&format!("phg{id}"), 196);
    // A stale table, as a crashed gateway would leave it.
    ok(&gw, "nft add table inet phonehome_vpn && nft add chain inet phonehome_vpn stale");

    let dir = std::env::temp_dir().join(format!("phonehome-vpn-gw-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    let state = State::init(&dir, "10.196.0.1:51820", "phone").unwrap();
    let conf = state.phone_config("phone").unwrap();
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let big: Vec<u8> =
        (0..4u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(www.join("big.bin"), &big).unwrap();
    std::fs::write(www.join("index.html"), b"hello from the internet\n").unwrap();
    let web = Command::new("ip")
        .args(["netns", "exec", &inet, "python3", "-m", "http.server", "8080", "--bind", "::"])
        .current_dir(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    net.children.push(web);

    // The gateway, on a thread in its namespace.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let gw_ns = std::fs::File::open(format!("/run/netns/{gw}")).unwrap();
    let gateway = {
        let (stop, seen, state) = (stop.clone(), seen.clone(), state.clone());
        std::thread::spawn(move || {
            nix::sched::setns(gw_ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let options = Options {
                listen: "10.196.0.1:51820".parse::<SocketAddr>().unwrap(),
                tun_name: "phvpn0".into(),
                allow_lan: false,
                host_ports: Vec::new(),
                redirect_dns: false,
            };
            let mut g = Gateway::start(&state, &options).unwrap();
            ready_tx.send(()).unwrap();
            while !stop.load(Ordering::Relaxed) {
                g.run_once(Duration::from_millis(50), &mut |flow, _, _| {
                    seen[usize::from(flow == Flow::In)].fetch_add(1, Ordering::Relaxed);
                    Verdict::Pass
                })
                .unwrap();
            }
            let stats = g.endpoint().stats;
            g.stop();
            stats
        })
    };
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let tables =
        String::from_utf8_lossy(&sh(&gw, "nft list table inet phonehome_vpn").stdout).into_owned();
    assert!(tables.contains("masquerade") && !tables.contains("stale"), "{tables}");

    // The phone: wireguard-go, everything routed into the tunnel.
    testkit::netns::phone(
        &mut net,
        &phone,
        &conf,
        &dir,
        "ip route add default dev wgp0 && ip -6 route add default dev wgp0",
    );
    std::thread::sleep(Duration::from_millis(300));

    let small = format!("{:x} 24", sha2_of(b"hello from the internet\n"));
    let large = format!("{:x} {}", sha2_of(&big), big.len());
    assert_eq!(fetch(&phone, "http://198.51.100.10:8080/index.html"), small);
    assert_eq!(fetch(&phone, "http://[2001:db8:100::10]:8080/index.html"), small);
    assert_eq!(fetch(&phone, "http://198.51.100.10:8080/big.bin"), large, "4 MiB over IPv4");
    assert_eq!(fetch(&phone, "http://[2001:db8:100::10]:8080/big.bin"), large, "over IPv6");
    // Private networks and the gateway host itself are out of reach.
    assert!(fetch(&phone, "http://192.168.77.1:80/").starts_with("error"));
    assert!(fetch(&phone, "http://198.51.100.1:8080/").starts_with("error"));

    stop.store(true, Ordering::Relaxed);
    let stats = gateway.join().unwrap();
    assert!(seen[0].load(Ordering::Relaxed) > 100 && seen[1].load(Ordering::Relaxed) > 1000);
    assert!(stats.from_devices > 100, "{stats:?}");
    let after = sh(&gw, "nft list tables");
    assert!(!String::from_utf8_lossy(&after.stdout).contains("phonehome_vpn"), "the table is gone");
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SHA-256 as a number to format with `{:x}` (python prints the same hex digest).
fn sha2_of(data: &[u8]) -> Hex {
    use sha2::Digest;
    Hex(sha2::Sha256::digest(data).to_vec())
}

struct Hex(Vec<u8>);

impl std::fmt::LowerHex for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}
