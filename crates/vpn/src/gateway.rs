//! The gateway's forwarding: decrypted packets go out through a TUN device and the kernel's NAT;
//! answers come back through the TUN device and are encrypted for their device.
//!
//! Design (see ARCHITECTURE.md): a TUN device and kernel forwarding with nftables masquerade,
//! rather than a userspace TCP/IP stack. The kernel forwards at line rate, handles every
//! protocol (TCP, UDP, ICMP, fragments, path MTU) exactly as a router does, and MSS clamping is
//! one nftables rule; a userspace stack would terminate and re-originate every TCP connection.
//! The price is root (or CAP_NET_ADMIN) and Linux.
//!
//! Contract:
//! - [`Gateway::start`] binds the UDP port, creates the TUN device (`phvpn0` unless named) with
//!   the gateway's tunnel addresses and the state's MTU, turns IPv4 and IPv6 forwarding on, and
//!   installs one nftables table, `inet phonehome_vpn`: masquerade of the tunnel networks out of
//!   any other interface, TCP MSS clamped to the route's MTU both ways, and (unless
//!   `allow_lan`) no way from the tunnel to private, link-local, loopback or shared addresses nor
//!   to this host's own, except DNS and ICMP to the gateway's tunnel addresses and the ports
//!   given in [`Options::host_ports`]. A table left by a gateway that crashed is replaced.
//! - [`Gateway::run_once`] waits (at most the timeout) for a datagram or a packet and moves
//!   what came, handing every packet to the caller first (`Flow::Out` from a device, `Flow::In`
//!   to it) with the device's index; the caller's [`Verdict`] lets it pass, drops it, or
//!   rejects it (dropped, and the ends told: [`crate::reject`]). The caller may rewrite the
//!   packet in place before it passes ([`crate::reject::rewrite_tcp_payload`]).
//! - [`Gateway::stop`] (and drop) removes the table; the TUN device goes with the process.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::State;
use crate::endpoint::Endpoint;

/// The UDP socket's receive and send buffers (the kernel doubles the value asked for).
pub const SOCKET_BUFFER: usize = 4 << 20;

/// The nftables table the gateway owns.
pub const TABLE: &str = "phonehome_vpn";

/// How to run the gateway.
#[derive(Debug, Clone)]
pub struct Options {
    /// The UDP address to listen on.
    pub listen: SocketAddr,
    /// The TUN device's name.
    pub tun_name: String,
    /// Let devices reach private networks and this host.
    pub allow_lan: bool,
    /// TCP and UDP ports of the gateway's tunnel addresses that devices may reach besides DNS
    /// (the live view, when it listens there).
    pub host_ports: Vec<u16>,
    /// Send the devices' plain DNS for any resolver to the gateway's own (its guard), so that
    /// a hard-coded resolver does not go around it.
    pub redirect_dns: bool,
}

/// Which way a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// From a device, out to the internet.
    Out,
    /// From the internet, in to a device.
    In,
}

/// What the caller says of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through.
    Pass,
    /// Drop it.
    Drop,
    /// Drop it and tell the ends (a TCP reset, an ICMP port unreachable: [`crate::reject`]),
    /// so that the app fails at once.
    Reject,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The UDP port could not be bound.
    #[error("{addr}: cannot listen: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The TUN device could not be made (no root or CAP_NET_ADMIN, no /dev/net/tun).
    #[error(
        "cannot create the TUN device {name}: {source}; the gateway needs root or \
         CAP_NET_ADMIN (sudo setcap cap_net_admin,cap_net_raw=eip $(command -v phonehome))"
    )]
    Tun {
        /// The device name.
        name: String,
        /// Why.
        source: io::Error,
    },
    /// A system command failed (`nft`, `sysctl`).
    #[error("{command}: {message}")]
    Command {
        /// What ran.
        command: String,
        /// What it said.
        message: String,
    },
}

fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<(), GatewayError> {
    let command = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| GatewayError::Command { command: command.clone(), message: e.to_string() })?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let _ = input.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| GatewayError::Command { command: command.clone(), message: e.to_string() })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(GatewayError::Command {
            command,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The nftables table (see the module doc).
pub fn ruleset(state: &State, options: &Options) -> String {
    let tun = &options.tun_name;
    let net4 = format!("{}/24", state.settings.network4);
    let net6 = format!("{}/64", state.settings.network6);
    let (g4, g6) = state.gateway_addresses();
    let ports: Vec<String> = std::iter::once(53)
        .chain(options.host_ports.iter().copied())
        .map(|p| p.to_string())
        .collect();
    let ports = ports.join(", ");
    let fence = if options.allow_lan {
        String::new()
    } else {
        format!(
            "    iifname \"{tun}\" ip daddr {{ 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, \
             169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/4, 255.255.255.255 }} reject\n\
             \x20   iifname \"{tun}\" ip6 daddr {{ ::/128, ::1/128, fc00::/7, fe80::/10, ff00::/8 }} reject\n"
        )
    };
    let host = if options.allow_lan {
        String::new()
    } else {
        format!(
            "  chain input {{\n\
             \x20   type filter hook input priority 0; policy accept;\n\
             \x20   iifname \"{tun}\" ip daddr {g4} meta l4proto {{ tcp, udp }} th dport {{ {ports} }} accept\n\
             \x20   iifname \"{tun}\" ip6 daddr {g6} meta l4proto {{ tcp, udp }} th dport {{ {ports} }} accept\n\
             \x20   iifname \"{tun}\" ip daddr {g4} meta l4proto icmp accept\n\
             \x20   iifname \"{tun}\" ip6 daddr {g6} meta l4proto ipv6-icmp accept\n\
             \x20   iifname \"{tun}\" drop\n\
             \x20 }}\n"
        )
    };
    let redirect = if options.redirect_dns {
        format!(
            "  chain prerouting {{\n\
             \x20   type nat hook prerouting priority -100; policy accept;\n\
             \x20   iifname \"{tun}\" ip daddr != {g4} meta l4proto {{ tcp, udp }} th dport 53 dnat ip to {g4}\n\
             \x20   iifname \"{tun}\" ip6 daddr != {g6} meta l4proto {{ tcp, udp }} th dport 53 dnat ip6 to {g6}\n\
             \x20 }}\n"
        )
    } else {
        String::new()
    };
    format!(
        "table inet {TABLE} {{\n\
         \x20 chain forward {{\n\
         \x20   type filter hook forward priority 0; policy accept;\n\
         {fence}\
         \x20   iifname \"{tun}\" tcp flags syn tcp option maxseg size set rt mtu\n\
         \x20   oifname \"{tun}\" tcp flags syn tcp option maxseg size set rt mtu\n\
         \x20 }}\n\
         {host}\
         {redirect}\
         \x20 chain postrouting {{\n\
         \x20   type nat hook postrouting priority 100; policy accept;\n\
         \x20   ip saddr {net4} oifname != \"{tun}\" masquerade\n\
         \x20   ip6 saddr {net6} oifname != \"{tun}\" masquerade\n\
         \x20 }}\n\
         }}\n"
    )
}

/// Removes the gateway's nftables table (nothing when there is none).
pub fn remove_table() {
    let _ = run("nft", &["delete", "table", "inet", TABLE], None);
}

/// The running gateway (see the module doc).
pub struct Gateway {
    endpoint: Endpoint,
    tun: tun_rs::SyncDevice,
    buf: Vec<u8>,
    out: Vec<(usize, Vec<u8>)>,
    /// Packets dropped by the caller's verdicts, by flow.
    pub dropped: [u64; 2],
    /// Resets and unreachables sent for [`Verdict::Reject`].
    pub rejects: u64,
    installed: bool,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl Gateway {
    /// Starts forwarding for `state`'s devices (see the module doc).
    pub fn start(state: &State, options: &Options) -> Result<Self, GatewayError> {
        let socket = UdpSocket::bind(options.listen)
            .map_err(|source| GatewayError::Bind { addr: options.listen, source })?;
        // A receive buffer for bursts (a phone's TCP window, a flood of handshakes) beyond the
        // system's default; the gateway has CAP_NET_ADMIN, so past `rmem_max` too.
        {
            let size = SOCKET_BUFFER;
            let _ = rustix::net::sockopt::set_socket_recv_buffer_size_force(&socket, size)
                .or_else(|_| rustix::net::sockopt::set_socket_recv_buffer_size(&socket, size));
            let _ = rustix::net::sockopt::set_socket_send_buffer_size_force(&socket, size)
                .or_else(|_| rustix::net::sockopt::set_socket_send_buffer_size(&socket, size));
        }
        let (g4, g6) = state.gateway_addresses();
        let tun = tun_rs::DeviceBuilder::new()
            .name(&options.tun_name)
            .mtu(state.settings.mtu)
            .ipv4(g4, 24u8, None)
            .ipv6(g6, 64u8)
            .build_sync()
            .map_err(|source| GatewayError::Tun { name: options.tun_name.clone(), source })?;
        tun.set_nonblocking(true)
            .map_err(|source| GatewayError::Tun { name: options.tun_name.clone(), source })?;
        run("sysctl", &["-q", "-w", "net.ipv4.ip_forward=1"], None)?;
        run("sysctl", &["-q", "-w", "net.ipv6.conf.all.forwarding=1"], None)?;
        // A table left by a gateway that did not stop cleanly goes first.
        remove_table();
        run("nft", &["-f", "-"], Some(&ruleset(state, options)))?;
        Ok(Self {
            endpoint: Endpoint::new(state, socket),
            tun,
            buf: vec![0; 65_536],
            out: Vec::new(),
            dropped: [0; 2],
            rejects: 0,
            installed: true,
        })
    }

    /// Datagrams the kernel dropped before the gateway read them (its receive buffer was full:
    /// a flood), from /proc/net/udp and udp6; `None` when not known.
    pub fn kernel_drops(&self) -> Option<u64> {
        use std::os::fd::AsRawFd;
        let fd = self.endpoint.socket().as_raw_fd();
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
        let inode = link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_string();
        ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // ... uid timeout inode ref pointer drops
                (fields.get(9) == Some(&inode.as_str())).then(|| fields.last()?.parse().ok())?
            })
        })
    }

    /// The WireGuard endpoint (its counters, its devices).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Waits at most `timeout` for traffic and moves it (see the module doc).
    pub fn run_once(
        &mut self,
        timeout: Duration,
        verdict: &mut dyn FnMut(Flow, usize, &mut [u8]) -> Verdict,
    ) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let (udp_ready, tun_ready) = {
            let udp = self.endpoint.socket().as_fd();
            let tun = self.tun.as_fd();
            let mut fds = [PollFd::new(&udp, PollFlags::IN), PollFd::new(&tun, PollFlags::IN)];
            let t = Timespec {
                tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(1),
                tv_nsec: i64::from(timeout.subsec_nanos()),
            };
            match poll(&mut fds, Some(&t)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            (!fds[0].revents().is_empty(), !fds[1].revents().is_empty())
        };
        if udp_ready {
            // Every datagram waiting, then their packets out through the TUN device.
            let out = &mut self.out;
            while self.endpoint.recv(Duration::ZERO, &mut |i, p| out.push((i, p.to_vec())))? {}
            let mut out = std::mem::take(&mut self.out);
            for (i, mut p) in out.drain(..) {
                match verdict(Flow::Out, i, &mut p) {
                    Verdict::Pass => {
                        let _ = self.tun.send(&p);
                    }
                    v => self.refuse(Flow::Out, v, &p)?,
                }
            }
            self.out = out;
        }
        if tun_ready {
            loop {
                let n = match self.tun.recv(&mut self.buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                };
                let Some(i) = self.endpoint.device_for(&self.buf[..n]) else { continue };
                let packet = &mut self.buf[..n];
                match verdict(Flow::In, i, packet) {
                    Verdict::Pass => {
                        self.endpoint.send(packet)?;
                    }
                    v => {
                        let packet = self.buf[..n].to_vec();
                        self.refuse(Flow::In, v, &packet)?;
                    }
                }
            }
        }
        self.endpoint.tick();
        Ok(())
    }

    /// Counts a packet refused; for [`Verdict::Reject`], sends its answers: towards the device
    /// through the tunnel, towards the internet through the TUN device.
    fn refuse(&mut self, flow: Flow, verdict: Verdict, packet: &[u8]) -> io::Result<()> {
        self.dropped[usize::from(flow == Flow::In)] += 1;
        if verdict != Verdict::Reject {
            return Ok(());
        }
        for (toward, answer) in crate::reject::answers(packet) {
            let to_device = (toward == crate::reject::Toward::Sender) == (flow == Flow::Out);
            if to_device {
                self.endpoint.send(&answer)?;
            } else {
                let _ = self.tun.send(&answer);
            }
            self.rejects += 1;
        }
        Ok(())
    }

    /// Removes the nftables table (the TUN device goes with the process).
    pub fn stop(mut self) {
        self.uninstall();
    }

    fn uninstall(&mut self) {
        if std::mem::take(&mut self.installed) {
            remove_table();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.uninstall();
    }
}
