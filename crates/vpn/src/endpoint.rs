//! The gateway's WireGuard endpoint: one UDP socket, one boringtun tunnel per device of the state.
//!
//! Contract:
//! - [`Endpoint::recv`] reads one datagram and answers what the protocol asks (handshake
//!   responses, cookie replies under load, queued packets). A handshake initiation is matched to
//!   its device by the initiator's static key (boringtun's anonymous parse), every later message
//!   by its receiver index; nothing from a key that is not in the state gets an answer. Each
//!   decrypted IP packet is handed to the caller with the index of its device, once its source
//!   address is checked against the device's tunnel addresses (a packet claiming another source
//!   is dropped and counted).
//! - A device's UDP address is learned from every datagram that authenticates, so the tunnel
//!   follows the phone when it roams (Wi-Fi to mobile data).
//! - [`Endpoint::send`] encrypts an IP packet for the device owning its destination address.
//! - [`Endpoint::tick`], called a few times a second, runs WireGuard's timers (rekey every two
//!   minutes, keepalives, expiry) and resets the handshake rate limiter every second.
//! - Everything dropped is counted in [`EndpointStats`]; nothing panics on any datagram.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boringtun::noise::handshake::parse_handshake_anon;
use boringtun::noise::rate_limiter::RateLimiter;
use boringtun::noise::{Packet, Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};

use crate::{Key, State};

/// Handshake initiations per second answered without a cookie (beyond: cookies, under load).
pub const HANDSHAKES_PER_SECOND: u64 = 100;
/// Largest datagram and packet handled.
const MAX_PACKET: usize = 65_535;

/// What the endpoint dropped or did, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams read.
    pub datagrams: u64,
    /// Datagrams that were no WireGuard message, failed authentication or came too late.
    pub invalid: u64,
    /// Handshake initiations from a key that is not a device of the state.
    pub unknown_peer: u64,
    /// Decrypted packets whose source address was not the device's.
    pub spoofed: u64,
    /// IP packets from the devices.
    pub from_devices: u64,
    /// IP packets sent to the devices.
    pub to_devices: u64,
    /// Packets for a device not connected yet, or for no device.
    pub undeliverable: u64,
}

struct Device {
    tunn: Tunn,
    public: [u8; 32],
    addr: Option<SocketAddr>,
    v4: Ipv4Addr,
    v6: Ipv6Addr,
}

/// A decrypted packet of device `i`: handed on when its source is the device's own
/// (`from_device`), else dropped and counted; either way the datagram authenticated, so the
/// device is at `src` now.
fn deliver(
    dev: &mut Device,
    src: SocketAddr,
    packet: &[u8],
    from_device: bool,
    i: usize,
    stats: &mut EndpointStats,
    on_packet: &mut dyn FnMut(usize, &[u8]),
) {
    dev.addr = Some(src);
    if from_device {
        stats.from_devices += 1;
        on_packet(i, packet);
    } else {
        stats.spoofed += 1;
    }
}

/// The endpoint (see the module doc).
pub struct Endpoint {
    socket: UdpSocket,
    private: StaticSecret,
    public: PublicKey,
    devices: Vec<Device>,
    names: Vec<String>,
    by_v4: HashMap<Ipv4Addr, usize>,
    by_v6: HashMap<Ipv6Addr, usize>,
    limiter: Arc<RateLimiter>,
    last_reset: Instant,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Counters.
    pub stats: EndpointStats,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("devices", &self.names)
            .field("stats", &self.stats)
            .finish()
    }
}

/// The destination address of an IP packet.
fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(packet.get(16..20)?).ok()?))),
        6 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(packet.get(24..40)?).ok()?))),
        _ => None,
    }
}

impl Endpoint {
    /// The endpoint of `state`'s devices on `socket` (bound by the caller).
    pub fn new(state: &State, socket: UdpSocket) -> Self {
        let private = StaticSecret::from(state.server_key().0);
        let public = PublicKey::from(&private);
        let limiter = Arc::new(RateLimiter::new(&public, HANDSHAKES_PER_SECOND));
        let mut devices = Vec::new();
        let mut names = Vec::new();
        let (mut by_v4, mut by_v6) = (HashMap::new(), HashMap::new());
        for p in &state.settings.peers {
            let Some(key) = Key::from_base64(&p.public_key) else { continue };
            let index = u32::try_from(devices.len() + 1).unwrap_or(u32::MAX >> 8);
            let tunn = Tunn::new(
                private.clone(),
                PublicKey::from(key.0),
                None,
                None,
                index,
                Some(limiter.clone()),
            );
            by_v4.insert(p.address4, devices.len());
            by_v6.insert(p.address6, devices.len());
            devices.push(Device {
                tunn,
                public: key.0,
                addr: None,
                v4: p.address4,
                v6: p.address6,
            });
            names.push(p.name.clone());
        }
        Self {
            socket,
            private,
            public,
            devices,
            names,
            by_v4,
            by_v6,
            limiter,
            last_reset: Instant::now(),
            buf: vec![0; MAX_PACKET],
            out: vec![0; MAX_PACKET + 256],
            stats: EndpointStats::default(),
        }
    }

    /// The name of device `index`.
    pub fn device_name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", String::as_str)
    }

    /// The UDP address device `index` was last seen at.
    pub fn device_addr(&self, index: usize) -> Option<SocketAddr> {
        self.devices.get(index).and_then(|d| d.addr)
    }

    /// The UDP socket (to wait on it with others).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The device owning the destination address of an IP packet.
    pub fn device_for(&self, packet: &[u8]) -> Option<usize> {
        match destination(packet)? {
            IpAddr::V4(a) => self.by_v4.get(&a).copied(),
            IpAddr::V6(a) => self.by_v6.get(&a).copied(),
        }
    }

    /// The device a datagram is for.
    fn device_of(&self, datagram: &[u8]) -> Option<usize> {
        match Tunn::parse_incoming_packet(datagram).ok()? {
            Packet::HandshakeInit(p) => {
                let half = parse_handshake_anon(&self.private, &self.public, &p).ok()?;
                self.devices.iter().position(|d| d.public == half.peer_static_public)
            }
            Packet::HandshakeResponse(p) => self.by_index(p.receiver_idx),
            Packet::PacketCookieReply(p) => self.by_index(p.receiver_idx),
            Packet::PacketData(p) => self.by_index(p.receiver_idx),
        }
    }

    fn by_index(&self, receiver: u32) -> Option<usize> {
        let i = usize::try_from(receiver >> 8).ok()?.checked_sub(1)?;
        (i < self.devices.len()).then_some(i)
    }

    /// Reads one datagram (waiting at most `timeout`; zero: only one already there) and handles it; each IP packet a device
    /// sent goes to `on_packet` with the device's index. False when the wait ended with none.
    pub fn recv(
        &mut self,
        timeout: Duration,
        on_packet: &mut dyn FnMut(usize, &[u8]),
    ) -> io::Result<bool> {
        if timeout.is_zero() {
            self.socket.set_nonblocking(true)?;
        } else {
            self.socket.set_nonblocking(false)?;
            self.socket.set_read_timeout(Some(timeout))?;
        }
        let (n, src) = match self.socket.recv_from(&mut self.buf) {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        self.stats.datagrams += 1;
        let datagram = &self.buf[..n];
        let Some(i) = self.device_of(datagram) else {
            if matches!(Tunn::parse_incoming_packet(datagram), Ok(Packet::HandshakeInit(_))) {
                self.stats.unknown_peer += 1;
            } else {
                self.stats.invalid += 1;
            }
            return Ok(true);
        };
        let Self { devices, out, socket, stats, buf, .. } = self;
        let dev = &mut devices[i];
        let mut result = dev.tunn.decapsulate(Some(src.ip()), &buf[..n], out);
        loop {
            match result {
                TunnResult::Done => break,
                TunnResult::Err(_) => {
                    stats.invalid += 1;
                    break;
                }
                TunnResult::WriteToNetwork(p) => {
                    dev.addr = Some(src);
                    let _ = socket.send_to(p, src);
                    // Packets queued while the handshake was under way go out now.
                    result = dev.tunn.decapsulate(None, &[], out);
                }
                TunnResult::WriteToTunnelV4(p, from) => {
                    deliver(dev, src, p, from == dev.v4, i, stats, on_packet);
                    break;
                }
                TunnResult::WriteToTunnelV6(p, from) => {
                    deliver(dev, src, p, from == dev.v6, i, stats, on_packet);
                    break;
                }
            }
        }
        Ok(true)
    }

    /// Encrypts `packet` for the device owning its destination address and sends it; false when
    /// no device owns it or the device has not connected yet (counted).
    pub fn send(&mut self, packet: &[u8]) -> io::Result<bool> {
        let Some(i) = self.device_for(packet) else {
            self.stats.undeliverable += 1;
            return Ok(false);
        };
        let Self { devices, out, socket, stats, .. } = self;
        let dev = &mut devices[i];
        let Some(addr) = dev.addr else {
            stats.undeliverable += 1;
            return Ok(false);
        };
        if packet.len() > MAX_PACKET {
            stats.undeliverable += 1;
            return Ok(false);
        }
        if let TunnResult::WriteToNetwork(p) = dev.tunn.encapsulate(packet, out) {
            socket.send_to(p, addr)?;
            stats.to_devices += 1;
        }
        Ok(true)
    }

    /// Runs the timers of every device (see the module doc).
    pub fn tick(&mut self) {
        if self.last_reset.elapsed() >= Duration::from_secs(1) {
            self.limiter.reset_count();
            self.last_reset = Instant::now();
        }
        let Self { devices, out, socket, .. } = self;
        for dev in devices.iter_mut() {
            if let TunnResult::WriteToNetwork(p) = dev.tunn.update_timers(out)
                && let Some(addr) = dev.addr
            {
                let _ = socket.send_to(p, addr);
            }
        }
    }
}
