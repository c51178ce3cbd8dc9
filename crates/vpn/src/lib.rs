//! The WireGuard gateway a phone joins (`phonehome vpn`): its state, keys and peers, and the
//! configuration the phone's WireGuard app imports (as text or a QR code).
//!
//! Contract:
//! - [`State::init`] makes a state directory (mode 0700): the server's key pair
//!   (`server.key`, mode 0600), `vpn.toml` (mode 0600: endpoint, listen port, tunnel networks,
//!   MTU, and the peers: name, public key, tunnel addresses) and, per peer, `peers/NAME.key`
//!   (its private key, mode 0600, kept so that its configuration can be shown again). It refuses
//!   a directory that already holds a state.
//! - [`State::open`] reads one back; every file is checked (keys are 32 bytes of base64, names
//!   are `[A-Za-z0-9_-]{1,32}`, addresses inside the tunnel networks, no duplicates); a bad file
//!   is an error naming it and the line.
//! - Peers get the next free addresses of the tunnel networks (IPv4 `10.77.0.0/24` and IPv6
//!   `fd77:7068:6f6e:6500::/64` by default; the gateway is `.1`/`::1`). [`State::add_peer`],
//!   [`State::remove_peer`] write the state again, atomically (a temporary file renamed).
//! - [`State::phone_config`] is the peer's configuration in wg-quick format: `[Interface]`
//!   PrivateKey, Address (v4 and v6), DNS (the gateway's tunnel addresses), MTU; `[Peer]`
//!   PublicKey, Endpoint, AllowedIPs `0.0.0.0/0, ::/0`, PersistentKeepalive. [`qr`] draws it.
//! - Keys come from the system's random generator (`/dev/urandom`) and x25519 (boringtun's, the
//!   tunnel's own).
//! - [`endpoint::Endpoint`] is the gateway's WireGuard side: one UDP socket, a boringtun tunnel
//!   per device, packets in and out (see its contract). Forwarding them to the internet and
//!   watching them is the gateway's next slice.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub mod endpoint;
pub mod gateway;
pub mod qr;
pub mod reject;

/// The default MTU of the tunnel (WireGuard's own default: 1500 less its overhead over IPv6).
pub const DEFAULT_MTU: u16 = 1420;
/// The default UDP port.
pub const DEFAULT_PORT: u16 = 51820;
/// Peers one gateway serves at most (the IPv4 /24 minus the gateway).
pub const MAX_PEERS: usize = 253;
/// Largest `vpn.toml` read.
pub const MAX_STATE_LEN: u64 = 1 << 20;

/// Why a state could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is malformed.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line when known).
        message: String,
    },
    /// A request that does not fit the state.
    #[error("{0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

/// A Curve25519 key (private or public), 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// `N` bytes from the system's random generator (`/dev/urandom`).
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    use std::io::Read;
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

impl Key {
    /// A new private key from the system's random generator.
    pub fn generate() -> std::io::Result<Self> {
        let mut b = random_bytes::<32>()?;
        // Clamped as x25519 uses it, so that the file says what the key is.
        b[0] &= 248;
        b[31] &= 127;
        b[31] |= 64;
        Ok(Self(b))
    }

    /// The public key of this private key.
    pub fn public(&self) -> Self {
        let secret = boringtun::x25519::StaticSecret::from(self.0);
        Self(boringtun::x25519::PublicKey::from(&secret).to_bytes())
    }

    /// Base64, as WireGuard writes keys.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// A key from WireGuard's base64 (44 characters).
    pub fn from_base64(s: &str) -> Option<Self> {
        let v = base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()?;
        Some(Self(v.try_into().ok()?))
    }
}

/// One device that may join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Its name (`phone`, `tablet`): in file names and in every finding.
    pub name: String,
    /// Its public key (base64).
    pub public_key: String,
    /// Its IPv4 address in the tunnel.
    pub address4: Ipv4Addr,
    /// Its IPv6 address in the tunnel.
    pub address6: Ipv6Addr,
}

/// The gateway's settings and peers (`vpn.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Where phones reach the gateway (`vpn.example.org:51820`, `203.0.113.7:51820`).
    pub endpoint: String,
    /// The UDP port the gateway listens on.
    pub listen_port: u16,
    /// The tunnel's IPv4 network (a /24); the gateway is its `.1`.
    pub network4: Ipv4Addr,
    /// The tunnel's IPv6 network (a /64); the gateway is its `::1`.
    pub network6: Ipv6Addr,
    /// The tunnel's MTU.
    pub mtu: u16,
    /// The gateway's public key (its private key is in `server.key`).
    pub public_key: String,
    /// The devices that may join.
    #[serde(default)]
    pub peers: Vec<Peer>,
}

impl Settings {
    /// Parses and checks a `vpn.toml` (`path` names it in errors): every peer's name, key and
    /// addresses, no duplicates, at most [`MAX_PEERS`].
    pub fn parse(text: &str, path: &Path) -> Result<Self, StateError> {
        let settings: Self = toml::from_str(text).map_err(|e| StateError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let bad = |message: String| StateError::Invalid { path: path.to_path_buf(), message };
        if Key::from_base64(&settings.public_key).is_none() {
            return Err(bad("public_key is not a WireGuard key".into()));
        }
        if settings.peers.len() > MAX_PEERS {
            return Err(bad(format!("more than {MAX_PEERS} peers")));
        }
        if !(1280..=9000).contains(&settings.mtu) {
            return Err(bad(format!("mtu {}: between 1280 and 9000", settings.mtu)));
        }
        if settings.endpoint.trim().is_empty() || settings.listen_port == 0 {
            return Err(bad("endpoint and listen_port are needed".into()));
        }
        let net4 = settings.network4.octets();
        let net6 = settings.network6.segments();
        for (i, p) in settings.peers.iter().enumerate() {
            if !valid_name(&p.name) {
                return Err(bad(format!("peer {:?}: a name of letters, digits, - and _", p.name)));
            }
            if Key::from_base64(&p.public_key).is_none() {
                return Err(bad(format!("peer {}: public_key is not a WireGuard key", p.name)));
            }
            let a = p.address4.octets();
            if a[..3] != net4[..3] || a[3] < 2 || a[3] == 255 {
                return Err(bad(format!(
                    "peer {}: {} is not in {}/24",
                    p.name, p.address4, settings.network4
                )));
            }
            if p.address6.segments()[..4] != net6[..4] {
                return Err(bad(format!(
                    "peer {}: {} is not in {}/64",
                    p.name, p.address6, settings.network6
                )));
            }
            if settings.peers[..i].iter().any(|q| {
                q.name == p.name || q.address4 == p.address4 || q.public_key == p.public_key
            }) {
                return Err(bad(format!(
                    "peer {}: its name, address or key appears twice",
                    p.name
                )));
            }
        }
        Ok(settings)
    }
}

/// A state directory, read.
#[derive(Debug, Clone)]
pub struct State {
    dir: PathBuf,
    /// Its settings and peers.
    pub settings: Settings,
    server_key: Key,
}

/// Valid peer names: letters, digits, `-` and `_`, 1 to 32 of them.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Writes `data` to `path` with mode 0600, through a temporary file renamed over it.
fn write_private(path: &Path, data: &[u8]) -> Result<(), StateError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io(&tmp))?;
    f.write_all(data).and_then(|()| f.sync_all()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn read_key(path: &Path) -> Result<Key, StateError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    Key::from_base64(&text).ok_or_else(|| StateError::Invalid {
        path: path.to_path_buf(),
        message: "not a WireGuard key (44 characters of base64)".into(),
    })
}

impl State {
    /// The state files' folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The gateway's private key.
    pub fn server_key(&self) -> Key {
        self.server_key
    }

    fn settings_path(dir: &Path) -> PathBuf {
        dir.join("vpn.toml")
    }

    fn peer_key_path(&self, name: &str) -> PathBuf {
        self.dir.join("peers").join(format!("{name}.key"))
    }

    /// Makes a new state in `dir` (created, mode 0700) for a gateway reached at `endpoint`
    /// (`HOST:PORT`), with a first peer named `first`.
    pub fn init(dir: &Path, endpoint: &str, first: &str) -> Result<Self, StateError> {
        let port = endpoint
            .rsplit_once(':')
            .and_then(|(host, p)| (!host.is_empty()).then_some(p))
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|&p| p != 0)
            .ok_or_else(|| {
                StateError::Refused(format!(
                    "--endpoint {endpoint:?}: HOST:PORT, the address phones reach this machine at \
                     (e.g. 192.168.1.20:{DEFAULT_PORT} on a home network)"
                ))
            })?;
        if Self::settings_path(dir).exists() {
            return Err(StateError::Refused(format!(
                "{}: already holds a VPN state (vpn peers add adds a device)",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir.join("peers")).map_err(io(dir))?;
        #[cfg(unix)]
        for d in [dir.to_path_buf(), dir.join("peers")] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).map_err(io(&d))?;
        }
        let server_key = Key::generate().map_err(io(dir))?;
        write_private(&dir.join("server.key"), format!("{}\n", server_key.to_base64()).as_bytes())?;
        let mut state = Self {
            dir: dir.to_path_buf(),
            settings: Settings {
                endpoint: endpoint.to_string(),
                listen_port: port,
                network4: Ipv4Addr::new(10, 77, 0, 0),
                network6: "fd77:7068:6f6e:6500::".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
                mtu: DEFAULT_MTU,
                public_key: server_key.public().to_base64(),
                peers: Vec::new(),
            },
            server_key,
        };
        state.add_peer(first)?;
        Ok(state)
    }

    /// Reads the state in `dir` (see the module doc).
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let path = Self::settings_path(dir);
        let len = std::fs::metadata(&path).map_err(io(&path))?.len();
        if len > MAX_STATE_LEN {
            return Err(StateError::Invalid { path, message: "larger than 1 MiB".into() });
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let settings = Settings::parse(&text, &path)?;
        let server_key = read_key(&dir.join("server.key"))?;
        if server_key.public().to_base64() != settings.public_key {
            return Err(StateError::Invalid {
                path,
                message: "public_key is not the public key of server.key".into(),
            });
        }
        Ok(Self { dir: dir.to_path_buf(), settings, server_key })
    }

    fn save(&self) -> Result<(), StateError> {
        let text = toml::to_string(&self.settings).map_err(|e| StateError::Invalid {
            path: Self::settings_path(&self.dir),
            message: e.to_string(),
        })?;
        let head = "# phonehome vpn state: the gateway and the devices that may join. Private keys are\n\
                    # in server.key and peers/NAME.key (mode 0600). Managed by `phonehome vpn`.\n\n";
        write_private(&Self::settings_path(&self.dir), format!("{head}{text}").as_bytes())
    }

    /// The gateway's tunnel addresses (`.1`, `::1`).
    pub fn gateway_addresses(&self) -> (Ipv4Addr, Ipv6Addr) {
        let mut a = self.settings.network4.octets();
        a[3] = 1;
        let mut s = self.settings.network6.segments();
        s[7] = 1;
        (Ipv4Addr::from(a), Ipv6Addr::from(s))
    }

    /// Adds a device named `name`: new keys, the next free tunnel addresses.
    pub fn add_peer(&mut self, name: &str) -> Result<&Peer, StateError> {
        if !valid_name(name) {
            return Err(StateError::Refused(format!(
                "{name:?}: a device name is 1 to 32 letters, digits, - or _"
            )));
        }
        if self.settings.peers.iter().any(|p| p.name == name) {
            return Err(StateError::Refused(format!("{name}: there is a device of that name")));
        }
        let used: Vec<u8> = self.settings.peers.iter().map(|p| p.address4.octets()[3]).collect();
        let Some(host) = (2..=254u8).find(|h| !used.contains(h)) else {
            return Err(StateError::Refused(format!(
                "a gateway serves at most {MAX_PEERS} devices"
            )));
        };
        let key = Key::generate().map_err(io(&self.dir))?;
        write_private(&self.peer_key_path(name), format!("{}\n", key.to_base64()).as_bytes())?;
        let mut a = self.settings.network4.octets();
        a[3] = host;
        let mut s = self.settings.network6.segments();
        s[7] = u16::from(host);
        self.settings.peers.push(Peer {
            name: name.to_string(),
            public_key: key.public().to_base64(),
            address4: Ipv4Addr::from(a),
            address6: Ipv6Addr::from(s),
        });
        self.save()?;
        Ok(&self.settings.peers[self.settings.peers.len() - 1])
    }

    /// Removes the device `name` (its key file too): it can no longer join.
    pub fn remove_peer(&mut self, name: &str) -> Result<(), StateError> {
        let before = self.settings.peers.len();
        self.settings.peers.retain(|p| p.name != name);
        if self.settings.peers.len() == before {
            return Err(StateError::Refused(format!("{name}: no such device")));
        }
        self.save()?;
        let path = self.peer_key_path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::Io { path, source: e }),
        }
    }

    /// The device `name`.
    pub fn peer(&self, name: &str) -> Option<&Peer> {
        self.settings.peers.iter().find(|p| p.name == name)
    }

    /// The configuration of device `name` for its WireGuard app, in wg-quick format.
    pub fn phone_config(&self, name: &str) -> Result<String, StateError> {
        let peer = self
            .peer(name)
            .ok_or_else(|| StateError::Refused(format!("{name}: no such device")))?;
        let key = read_key(&self.peer_key_path(name))?;
        if key.public().to_base64() != peer.public_key {
            return Err(StateError::Invalid {
                path: self.peer_key_path(name),
                message: format!("not the private key of {name}'s public key in vpn.toml"),
            });
        }
        let (g4, g6) = self.gateway_addresses();
        Ok(format!(
            "# {name}: import into the WireGuard app (phonehome vpn)\n\
             [Interface]\n\
             PrivateKey = {}\n\
             Address = {}/32, {}/128\n\
             DNS = {g4}, {g6}\n\
             MTU = {}\n\
             \n\
             [Peer]\n\
             PublicKey = {}\n\
             Endpoint = {}\n\
             AllowedIPs = 0.0.0.0/0, ::/0\n\
             PersistentKeepalive = 25\n",
            key.to_base64(),
            peer.address4,
            peer.address6,
            self.settings.mtu,
            self.settings.public_key,
            self.settings.endpoint,
        ))
    }
}

#[cfg(test)]
mod tests;
