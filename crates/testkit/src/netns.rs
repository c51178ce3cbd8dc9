//! Network-namespace tests' helpers (the live capture's, the VPN's): the root and tools check,
//! namespaces (and their children) removed on drop, commands inside them, and a wireguard-go
//! "phone" configured from the text `phonehome vpn init` prints. Only for tests run as root;
//! everything they make is inside the namespaces.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// True when the test can run: root and `tools` present; else a skip message (a failure when
/// the environment variable `require_var` is `require`, as in CI).
pub fn can_run(require_var: &str, suite: &str, tools: &[&str]) -> bool {
    let require = std::env::var(require_var).as_deref() == Ok("require");
    let skip = |why: &str| {
        assert!(!require, "{require_var}=require but {why}");
        crate::skip::skip(suite, why);
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
pub struct Net {
    /// The namespaces, in the order made.
    pub names: Vec<String>,
    /// Processes killed (before the namespaces go) on drop.
    pub children: Vec<Child>,
}

impl Net {
    /// Namespaces named `prefix` + each suffix.
    pub fn new(prefix: &str, suffixes: &[&str]) -> Self {
        let names: Vec<String> = suffixes.iter().map(|s| format!("{prefix}{s}")).collect();
        let net = Self { names, children: Vec::new() };
        for ns in &net.names {
            assert!(Command::new("ip").args(["netns", "add", ns]).status().unwrap().success());
        }
        net
    }

    /// A veth pair: `an` in namespace `a`, `bn` in `b`.
    pub fn link(&self, a: &str, an: &str, b: &str, bn: &str) {
        let s = Command::new("ip")
            .args(["link", "add", an, "netns", a, "type", "veth", "peer", "name", bn, "netns", b])
            .status()
            .unwrap();
        assert!(s.success());
    }
}

/// The three namespaces of a VPN test: a "phone" (`10.{net}.0.2`), the "gateway"
/// (`10.{net}.0.1` towards the phone; 198.51.100.1 and 2001:db8:100::1 towards the internet) and
/// an "internet" (198.51.100.10 and 2001:db8:100::10), named `prefix` + `p`, `g`, `i`.
pub fn phone_gateway_internet(prefix: &str, net: u8) -> (Net, [String; 3]) {
    let n = Net::new(prefix, &["p", "g", "i"]);
    let [phone, gw, inet] = [0, 1, 2].map(|i| n.names[i].clone());
    n.link(&phone, "tp0", &gw, "tp1");
    n.link(&gw, "ti0", &inet, "ti1");
    ok(
        &phone,
        &format!("ip addr add 10.{net}.0.2/24 dev tp0 && ip link set tp0 up && ip link set lo up"),
    );
    ok(
        &gw,
        &format!(
            "ip addr add 10.{net}.0.1/24 dev tp1 && ip link set tp1 up && ip link set lo up && \
             ip addr add 198.51.100.1/24 dev ti0 && ip addr add 2001:db8:100::1/64 dev ti0 nodad \
             && ip link set ti0 up"
        ),
    );
    ok(
        &inet,
        "ip addr add 198.51.100.10/24 dev ti1 && ip addr add 2001:db8:100::10/64 dev ti1 nodad && \
         ip link set ti1 up && ip link set lo up",
    );
    (n, [phone, gw, inet])
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
pub fn sh(ns: &str, cmd: &str) -> Output {
    Command::new("ip").args(["netns", "exec", ns, "sh", "-c", cmd]).output().unwrap()
}

/// A shell command in namespace `ns` that must succeed.
pub fn ok(ns: &str, cmd: &str) {
    let o = sh(ns, cmd);
    assert!(o.status.success(), "in {ns}: {cmd}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The WireGuard interface of [`phone`] in namespace `ns`.
pub fn phone_dev(ns: &str) -> String {
    let tail: String = ns.chars().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
    format!("wg{tail}")
}

/// Starts wireguard-go in namespace `ns`, configured from `conf` (the printed configuration,
/// less the wg-quick-only keys as `wg-quick strip` removes them), with its tunnel addresses;
/// then `routes` (shell commands) run there, `wgp0` in them standing for its interface. The
/// interface is named after the namespace: wireguard-go's control socket
/// (/var/run/wireguard/NAME.sock) is shared by every namespace, so two phones of tests run at
/// once must not share a name.
pub fn phone(net: &mut Net, ns: &str, conf: &str, dir: &Path, routes: &str) {
    let dev = phone_dev(ns);
    let routes = routes.replace("wgp0", &dev);
    let wg = Command::new("ip")
        .args(["netns", "exec", ns, "wireguard-go", "-f", &dev])
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
            "wg setconf {dev} {} && ip addr add {v4} dev {dev} && ip addr add {v6} dev {dev} \
             nodad && ip link set {dev} mtu 1420 up && {routes}",
            path.display()
        ),
    );
}
