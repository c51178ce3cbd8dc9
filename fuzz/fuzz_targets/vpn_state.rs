#![no_main]
//! Fuzz target: the VPN state's parsers, `vpn.toml` (`vpn::Settings::parse`, every peer checked)
//! and WireGuard keys in base64. Errors are fine; panics, hangs and unbounded allocation are not.
//! A state that parses has what the gateway relies on: valid names, keys and addresses.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = vpn::Settings::parse(&text, std::path::Path::new("vpn.toml")) {
        assert!(s.peers.len() <= vpn::MAX_PEERS);
        for p in &s.peers {
            assert!(vpn::valid_name(&p.name));
            assert!(vpn::Key::from_base64(&p.public_key).is_some());
        }
    }
    if let Some(k) = vpn::Key::from_base64(&text) {
        assert_eq!(vpn::Key::from_base64(&k.to_base64()), Some(k));
    }
});
