//! What the VPN's namespace tests share: the root and tools check, namespaces removed on drop,
//! commands inside them, and a wireguard-go "phone" configured from `State::phone_config`.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// True when the test can run: root and `tools` present; else a skip message (a failure with
/// `PHONEHOME_VPN_TEST=require`).
pub(crate) fn can_run(suite: &str, tools: &[&str]) -> bool {
    let require = std::env::var("PHONEHOME_VPN_TEST").as_deref() == Ok("require");
    let skip = |why: &str| {
        assert!(!require, "PHONEHOME_VPN_TEST=require but {why}");
        testkit::skip::skip(suite, why);
        false
    };
    let uid = Command::new("id").arg("-u").output().map(|o| o.stdout).unwrap_or_default();
    if String::from_utf8_lossy(&uid).trim() != "0" {
        return skip("not root (network namespaces need it)");
    }
    for tool in tools {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
        if found.map_or(true, |o| !o.status.success()) {
            return skip(&format!("{tool} is missing"));
        }
    }
    true
}

/// Network namespaces (and children) removed on drop.
pub(crate) struct Net {
    pub(crate) names: Vec<String>,
    pub(crate) children: Vec<Child>,
}

impl Net {
    /// Namespaces named `prefix` + each suffix.
    pub(crate) fn new(prefix: &str, suffixes: &[&str]) -> Self {
        let names: Vec<String> = suffixes.iter().map(|s| format!("{prefix}{s}")).collect();
        let net = Self { names, children: Vec::new() };
        for ns in &net.names {
            assert!(Command::new("ip").args(["netns", "add", ns]).status().unwrap().success());
        }
        net
    }

    /// A veth pair: `an` in namespace `a`, `bn` in `b`.
    pub(crate) fn link(&self, a: &str, an: &str, b: &str, bn: &str) {
        let s = Command::new("ip")
            .args(["link", "add", an, "netns", a, "type", "veth", "peer", "name", bn, "netns", b])
            .status()
            .unwrap();
        assert!(s.success());
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.names {
            let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
        }
    }
}

/// A shell command in namespace `ns`.
pub(crate) fn sh(ns: &str, cmd: &str) -> Output {
    Command::new("ip").args(["netns", "exec", ns, "sh", "-c", cmd]).output().unwrap()
}

/// A shell command in namespace `ns` that must succeed.
pub(crate) fn ok(ns: &str, cmd: &str) {
    let o = sh(ns, cmd);
    assert!(o.status.success(), "in {ns}: {cmd}: {}", String::from_utf8_lossy(&o.stderr));
}

/// Starts wireguard-go as `wgp0` in namespace `ns`, configured from `conf` (the printed
/// configuration, less the wg-quick-only keys as `wg-quick strip` removes them), with its tunnel
/// addresses; then `routes` (shell commands) run there.
pub(crate) fn phone(net: &mut Net, ns: &str, conf: &str, dir: &Path, routes: &str) {
    let wg = Command::new("ip")
        .args(["netns", "exec", ns, "wireguard-go", "-f", "wgp0"])
        .env("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    net.children.push(wg);
    std::thread::sleep(Duration::from_millis(500));
    let stripped: String = conf
        .lines()
        .filter(|l| !["Address", "DNS", "MTU"].iter().any(|k| l.starts_with(&format!("{k} ="))))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.join("phone.conf");
    std::fs::write(&path, stripped).unwrap();
    let addresses = conf.lines().find_map(|l| l.strip_prefix("Address = ")).unwrap();
    let (v4, v6) = addresses.split_once(", ").unwrap();
    ok(
        ns,
        &format!(
            "wg setconf wgp0 {} && ip addr add {v4} dev wgp0 && ip addr add {v6} dev wgp0 nodad && \
             ip link set wgp0 mtu 1420 up && {routes}",
            path.display()
        ),
    );
}
