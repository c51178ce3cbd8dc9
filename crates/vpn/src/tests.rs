use super::*;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phonehome-vpn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn keys_are_wireguard_keys() {
    // RFC 7748 section 6.1: Alice's private and public keys.
    let private = [
        0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66,
        0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9,
        0x2c, 0x2a,
    ];
    let public = Key(private).public();
    assert_eq!(public.0[..4], [0x85, 0x20, 0xf0, 0x09], "x25519 of the RFC's test vector");
    let k = Key::generate().unwrap();
    assert_eq!(k.to_base64().len(), 44);
    assert_eq!(Key::from_base64(&k.to_base64()), Some(k));
    assert_ne!(Key::generate().unwrap(), k);
    assert!(Key::from_base64("short").is_none());
    assert_eq!(format!("{k:?}"), "Key(..)", "keys are never printed by Debug");
}

#[test]
fn a_state_is_made_read_back_and_its_peers_managed() {
    let dir = temp("state");
    let s = State::init(&dir, "192.0.2.7:51820", "phone").unwrap();
    assert_eq!(s.settings.listen_port, 51820);
    let phone = s.peer("phone").unwrap().clone();
    assert_eq!(phone.address4, Ipv4Addr::new(10, 77, 0, 2));
    assert_eq!(phone.address6.segments()[7], 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for f in ["server.key", "vpn.toml", "peers/phone.key"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
    }
    let conf = s.phone_config("phone").unwrap();
    assert!(conf.contains("Address = 10.77.0.2/32, fd77:7068:6f6e:6500::2/128"), "{conf}");
    assert!(conf.contains("DNS = 10.77.0.1, fd77:7068:6f6e:6500::1"), "{conf}");
    assert!(conf.contains(&format!("PublicKey = {}\n", s.settings.public_key)));
    assert!(conf.contains("Endpoint = 192.0.2.7:51820\nAllowedIPs = 0.0.0.0/0, ::/0\n"));
    // The private key in the configuration is the peer's.
    let private = conf.lines().find_map(|l| l.strip_prefix("PrivateKey = ")).unwrap();
    assert_eq!(Key::from_base64(private).unwrap().public().to_base64(), phone.public_key);

    let mut s = State::open(&dir).unwrap();
    assert_eq!(s.settings.peers, vec![phone]);
    assert!(State::init(&dir, "192.0.2.7:51820", "x").is_err(), "an existing state is kept");
    let tablet = s.add_peer("tablet").unwrap().clone();
    assert_eq!(tablet.address4, Ipv4Addr::new(10, 77, 0, 3));
    assert!(s.add_peer("tablet").is_err() && s.add_peer("bad name").is_err());
    s.remove_peer("phone").unwrap();
    assert!(!dir.join("peers/phone.key").exists());
    assert!(s.remove_peer("phone").is_err());
    // A freed address is given again.
    assert_eq!(s.add_peer("laptop").unwrap().address4, Ipv4Addr::new(10, 77, 0, 2));
    let s = State::open(&dir).unwrap();
    let names: Vec<&str> = s.settings.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["tablet", "laptop"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_refused_with_the_file() {
    assert!(State::init(&temp("e1"), "no-port", "phone").is_err());
    assert!(State::init(&temp("e2"), ":51820", "phone").is_err());
    assert!(State::init(&temp("e3"), "h:0", "phone").is_err());
    let dir = temp("bad");
    State::init(&dir, "vpn.example:51820", "phone").unwrap();
    let path = dir.join("vpn.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("address4 = \"10.77.0.2\"", "address4 = \"10.78.0.2\""),
        ("name = \"phone\"", "name = \"../x\""),
        ("listen_port = 51820", "listen_port = \"x\""),
    ] {
        std::fs::write(&path, good.replace(from, to)).unwrap();
        let e = State::open(&dir).unwrap_err().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
    }
    std::fs::write(&path, &good).unwrap();
    std::fs::write(dir.join("server.key"), "nope\n").unwrap();
    assert!(State::open(&dir).unwrap_err().to_string().contains("server.key"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn qr_codes_are_drawn() {
    let text = "[Interface]\nPrivateKey = x\n";
    let t = qr::terminal(text).unwrap();
    assert!(t.lines().count() > 10 && t.contains('█'));
    assert!(qr::svg(text).unwrap().starts_with("<?xml"));
    let png = qr::png(text, 4).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.ends_with(&[0xae, 0x42, 0x60, 0x82]));
    assert!(qr::png(&"x".repeat(5000), 4).is_err(), "too long for a QR code");
}

#[test]
fn the_gateway_table_fences_the_lan_unless_asked() {
    let dir = temp("rules");
    let s = State::init(&dir, "192.0.2.7:51820", "phone").unwrap();
    let mut o = gateway::Options {
        listen: "0.0.0.0:51820".parse().unwrap(),
        tun_name: "phvpn0".into(),
        allow_lan: false,
        host_ports: vec![8080],
        redirect_dns: false,
    };
    let fenced = gateway::ruleset(&s, &o);
    assert!(fenced.contains("ip saddr 10.77.0.0/24 oifname != \"phvpn0\" masquerade"), "{fenced}");
    assert!(fenced.contains("192.168.0.0/16") && fenced.contains("fc00::/7"), "{fenced}");
    assert!(
        fenced.contains("th dport { 53, 8080 } accept")
            && fenced.contains("iifname \"phvpn0\" drop")
    );
    assert!(fenced.contains("maxseg size set rt mtu"));
    assert!(!fenced.contains("dnat"), "plain DNS left alone unless asked");
    o.redirect_dns = true;
    let redirected = gateway::ruleset(&s, &o);
    assert!(redirected.contains("th dport 53 dnat ip to 10.77.0.1"), "{redirected}");
    assert!(redirected.contains("th dport 53 dnat ip6 to fd77:7068:6f6e:6500::1"));
    o.allow_lan = true;
    let open = gateway::ruleset(&s, &o);
    assert!(
        !open.contains("192.168.0.0/16") && !open.contains("drop") && open.contains("masquerade")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
