//! The endpoint against a real WireGuard client: Debian's wireguard-go in a "phone" network
//! namespace, configured from the text `State::phone_config` prints (`wg setconf` after
//! `wg-quick strip`'s removals), and our endpoint on a thread that entered a "gateway" namespace.
//! UDP datagrams to the gateway's tunnel addresses (IPv4 and IPv6) come back echoed by the test,
//! through both directions of the tunnel. Garbage and handshakes from an unknown key are counted
//! and answered with nothing. Root only (CI); skipped with a message elsewhere, unless
//! `PHONEHOME_VPN_TEST=require`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use testkit::netns::{Net, ok};
use vpn::State;
use vpn::endpoint::{Endpoint, EndpointStats};

/// Internet checksum of the IPv4 or IPv6 pseudo-header and `udp`.
fn udp_checksum(src: IpAddr, dst: IpAddr, udp: &[u8]) -> u16 {
    let mut sum = 0u32;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            add(&s.octets());
            add(&d.octets());
            add(&[0, 17]);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            add(&s.octets());
            add(&d.octets());
            add(&[0, 0, 0, 17]);
        }
        _ => {}
    }
    add(&(udp.len() as u16).to_be_bytes());
    add(udp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    match !(sum as u16) {
        0 => 0xffff,
        c => c,
    }
}

/// The reply to a UDP datagram sent to port 7 (echo), addresses and ports swapped.
fn echo(packet: &[u8]) -> Option<Vec<u8>> {
    let (src, dst, header, udp): (IpAddr, IpAddr, usize, &[u8]) = match packet.first()? >> 4 {
        4 => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            (packet.get(9) == Some(&17)).then_some(())?;
            let s: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            (Ipv4Addr::from(s).into(), Ipv4Addr::from(d).into(), ihl, packet.get(ihl..)?)
        }
        6 => {
            (packet.get(6) == Some(&17)).then_some(())?;
            let s: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            (Ipv6Addr::from(s).into(), Ipv6Addr::from(d).into(), 40, packet.get(40..)?)
        }
        _ => return None,
    };
    if udp.len() < 8 || u16::from_be_bytes([udp[2], udp[3]]) != 7 {
        return None;
    }
    let mut reply = packet.to_vec();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            reply[12..16].copy_from_slice(&d.octets());
            reply[16..20].copy_from_slice(&s.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            reply[8..24].copy_from_slice(&d.octets());
            reply[24..40].copy_from_slice(&s.octets());
        }
        _ => return None,
    }
    let u = &mut reply[header..];
    u.swap(0, 2);
    u.swap(1, 3);
    u[6] = 0;
    u[7] = 0;
    let c = udp_checksum(dst, src, u);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    Some(reply)
}

#[test]
fn wireguard_go_talks_to_the_endpoint_both_ways() {
    if !testkit::netns::can_run(
        "PHONEHOME_VPN_TEST",
        "vpn (endpoint against wireguard-go)",
        &["wireguard-go", "wg", "ip", "python3"],
    ) {
        return;
    }
    let id = std::process::id();
    let mut net = Net::new(&format!("phv{id}"), &["p", "g"]);
    let (phone, gw) = (net.names[0].clone(), net.names[1].clone());
    net.link(&phone, "wv0", &gw, "wv1");
    ok(&phone, "ip addr add 10.197.0.2/24 dev wv0 && ip link set wv0 up && ip link set lo up");
    ok(&gw, "ip addr add 10.197.0.1/24 dev wv1 && ip link set wv1 up && ip link set lo up");

    let dir = std::env::temp_dir().join(format!("phonehome-vpn-wg-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    let state = State::init(&dir, "10.197.0.1:51820", "phone").unwrap();
    let conf = state.phone_config("phone").unwrap();

    // The gateway: a thread in the gateway namespace, echoing UDP port 7 on its tunnel addresses.
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let gw_ns = std::fs::File::open(format!("/run/netns/{gw}")).unwrap();
    let gateway = {
        let stop = stop.clone();
        let state = state.clone();
        std::thread::spawn(move || -> EndpointStats {
            nix::sched::setns(gw_ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let socket = UdpSocket::bind("10.197.0.1:51820").unwrap();
            let mut ep = Endpoint::new(&state, socket);
            ready_tx.send(()).unwrap();
            let mut replies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                ep.recv(Duration::from_millis(50), &mut |_, p| replies.extend(echo(p))).unwrap();
                for r in replies.drain(..) {
                    ep.send(&r).unwrap();
                }
                ep.tick();
            }
            assert_eq!(ep.device_name(0), "phone");
            assert_eq!(ep.device_addr(0).map(|a| a.ip()), Some("10.197.0.2".parse().unwrap()));
            ep.stats
        })
    };
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap();

    // The phone: wireguard-go, configured from the printed text.
    testkit::netns::phone(
        &mut net,
        &phone,
        &conf,
        &dir,
        "ip route add 10.77.0.1/32 dev wgp0 && ip -6 route add fd77:7068:6f6e:6500::1/128 dev wgp0",
    );

    // Garbage and a stranger's handshake first: counted, answered with nothing.
    let noise = "import socket, os\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        for i in range(50):\n    s.sendto(os.urandom(100), ('10.197.0.1', 51820))\n\
        for i in range(50):\n    s.sendto(b'\\x01\\x00\\x00\\x00' + os.urandom(144), ('10.197.0.1', 51820))\n";
    ok(&phone, &format!("python3 -c \"{noise}\""));

    // Echo through the tunnel, IPv4 and IPv6.
    let probe = "import socket, sys\n\
        fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET\n\
        s = socket.socket(fam, socket.SOCK_DGRAM)\n\
        s.settimeout(2)\n\
        for attempt in range(5):\n\
        \x20   s.sendto(b'hello through the tunnel', (sys.argv[1], 7))\n\
        \x20   try:\n\
        \x20       print(s.recv(100).decode()); break\n\
        \x20   except socket.timeout:\n\
        \x20       pass\n";
    for target in ["10.77.0.1", "fd77:7068:6f6e:6500::1"] {
        let o = Command::new("ip")
            .args(["netns", "exec", &phone, "python3", "-c", probe, target])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "hello through the tunnel",
            "{target}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let stats = gateway.join().unwrap();
    assert!(stats.from_devices >= 2 && stats.to_devices >= 2, "{stats:?}");
    assert!(stats.invalid >= 50, "garbage counted: {stats:?}");
    assert!(stats.unknown_peer + stats.invalid >= 100, "{stats:?}");
    // A packet whose source is not the phone's tunnel address (the kernel's own IPv6 chatter from
    // `::` or a link-local address) is dropped and counted, never forwarded.
    eprintln!("endpoint: {stats:?}");
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
