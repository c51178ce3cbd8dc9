//! Live capture: packets from a network interface, for `phonehome watch -i`.
//!
//! Contract:
//! - [`Interface::open`] opens a device through libpcap (the `pcap` crate, behind this crate's
//!   `pcap` feature): promiscuous mode off unless asked, the snap length given, the BPF filter
//!   compiled by libpcap (the language of tcpdump and Wireshark's capture filters), nanosecond
//!   timestamps when the kernel gives them, a kernel buffer of [`BUFFER_BYTES`], and a read
//!   timeout of [`READ_TIMEOUT_MS`] so that the caller gets control back at least that often (for
//!   its ticks, refreshes and a stop request) even when the link is quiet.
//! - [`Interface::next_packet`] gives the next packet, borrowed until the next call, with its
//!   timestamp from the kernel; `Ok(None)` when the timeout passed with none.
//! - [`Interface::stats`] gives what the kernel received and dropped since the capture opened,
//!   as 64-bit totals (libpcap's counters are 32 bits and wrap; the deltas are summed).
//! - Errors say what failed on which interface; a permission error names the capabilities
//!   capture needs ([`LiveError::Permission`]).
//! - Built without the `pcap` feature, [`Interface::open`] and [`list`] return
//!   [`LiveError::NotBuilt`], which says how to build it in.
//!
//! Why libpcap and not AF_PACKET directly: the workspace forbids `unsafe`, and an AF_PACKET
//! socket with a ring buffer and a BPF program needs it (or a crate that hides it); above all, the
//! BPF filter language (`host 192.168.4.23 and not port 22`) is libpcap's, and users expect
//! exactly it. libpcap also gives the same code on the BSDs and macOS.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use capture::{LinkType, Timestamp};

#[cfg(feature = "pcap")]
mod pcap_source;

/// The read timeout: the longest the caller waits for control on a quiet link.
pub const READ_TIMEOUT_MS: i32 = 100;
/// The kernel buffer for packets not yet read (libpcap's default is 2 MiB; a burst of a
/// gigabit link fills that in 17 ms).
pub const BUFFER_BYTES: i32 = 32 << 20;
/// The snap length when none is given: whole packets (also the pcapng writer's limit).
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// How to open an interface.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Interface name (`eth0`, `wlan0`, `any`).
    pub interface: String,
    /// BPF filter (`host 192.168.4.23`); `None`: every packet.
    pub filter: Option<String>,
    /// Bytes kept of each packet (0: [`DEFAULT_SNAPLEN`]).
    pub snaplen: u32,
    /// Promiscuous mode (off by default: only traffic to and from this machine, and what it
    /// routes, which is what an access point or gateway sees anyway).
    pub promiscuous: bool,
}

/// Why an interface could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// This build has no live capture.
    #[error(
        "this phonehome was built without live capture; build it with: cargo install --locked \
         --path crates/phonehome --features live (needs libpcap-dev: apt install libpcap-dev)"
    )]
    NotBuilt,
    /// Not allowed to capture.
    #[error(
        "{interface}: not allowed to capture ({detail}); run as root, or give the binary the \
         capabilities CAP_NET_RAW and CAP_NET_ADMIN: sudo setcap cap_net_raw,cap_net_admin=eip \
         $(command -v phonehome)"
    )]
    Permission {
        /// The interface.
        interface: String,
        /// libpcap's words.
        detail: String,
    },
    /// No such interface.
    #[error(
        "{interface}: no such interface ({detail}); phonehome watch --list-interfaces lists them"
    )]
    NoSuchInterface {
        /// The interface.
        interface: String,
        /// libpcap's words.
        detail: String,
    },
    /// The filter does not compile.
    #[error("--filter {filter:?}: {detail}")]
    Filter {
        /// The filter as given.
        filter: String,
        /// libpcap's words.
        detail: String,
    },
    /// Any other failure of libpcap.
    #[error("{interface}: {detail}")]
    Capture {
        /// The interface.
        interface: String,
        /// libpcap's words.
        detail: String,
    },
}

/// One packet, borrowed from the capture until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Kernel timestamp.
    pub ts: Timestamp,
    /// Captured bytes.
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
}

/// What the kernel received and dropped since the capture opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets that passed the filter (received by the capture).
    pub received: u64,
    /// Dropped because the buffer was full (phonehome did not keep up).
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// An interface, as [`list`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Name to pass to `-i`.
    pub name: String,
    /// Description, when the system has one.
    pub description: Option<String>,
    /// Its addresses.
    pub addresses: Vec<std::net::IpAddr>,
    /// Up and running.
    pub up: bool,
    /// The loopback interface.
    pub loopback: bool,
}

/// An open live capture.
pub struct Interface {
    #[cfg(feature = "pcap")]
    inner: pcap_source::Source,
    link: LinkType,
    name: String,
}

impl std::fmt::Debug for Interface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interface").field("name", &self.name).field("link", &self.link).finish()
    }
}

impl Interface {
    /// Opens the capture (see the module doc).
    pub fn open(options: &Options) -> Result<Self, LiveError> {
        #[cfg(feature = "pcap")]
        {
            let (inner, link) = pcap_source::Source::open(options)?;
            Ok(Self { inner, link, name: options.interface.clone() })
        }
        #[cfg(not(feature = "pcap"))]
        {
            let _ = options;
            Err(LiveError::NotBuilt)
        }
    }

    /// The link type of its packets.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next packet; `Ok(None)` after [`READ_TIMEOUT_MS`] without one.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, LiveError> {
        #[cfg(feature = "pcap")]
        {
            self.inner.next(&self.name)
        }
        #[cfg(not(feature = "pcap"))]
        {
            Ok(None)
        }
    }

    /// What the kernel received and dropped so far.
    pub fn stats(&mut self) -> Stats {
        #[cfg(feature = "pcap")]
        {
            self.inner.stats()
        }
        #[cfg(not(feature = "pcap"))]
        {
            Stats::default()
        }
    }
}

/// The interfaces this machine can capture on.
pub fn list() -> Result<Vec<Device>, LiveError> {
    #[cfg(feature = "pcap")]
    {
        pcap_source::list()
    }
    #[cfg(not(feature = "pcap"))]
    {
        Err(LiveError::NotBuilt)
    }
}

/// True when this build can capture live.
pub const fn available() -> bool {
    cfg!(feature = "pcap")
}

/// Sorts a libpcap error into a [`LiveError`] by its words (libpcap gives no codes for these).
pub fn classify(interface: &str, filter: Option<&str>, detail: String) -> LiveError {
    let lower = detail.to_ascii_lowercase();
    let interface = interface.to_string();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::Permission { interface, detail }
    } else if lower.contains("no such device")
        || lower.contains("doesn't exist")
        || lower.contains("no such interface")
    {
        LiveError::NoSuchInterface { interface, detail }
    } else if let Some(filter) = filter {
        LiveError::Filter { filter: filter.to_string(), detail }
    } else {
        LiveError::Capture { interface, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_interface_and_what_to_do() {
        let e = classify("wlan0", None, "socket: Operation not permitted".into());
        let text = e.to_string();
        assert!(matches!(e, LiveError::Permission { .. }));
        assert!(text.starts_with("wlan0: not allowed to capture"), "{text}");
        assert!(text.contains("CAP_NET_RAW") && text.contains("CAP_NET_ADMIN"), "{text}");
        let e = classify("nope0", None, "nope0: No such device exists".into());
        assert!(matches!(e, LiveError::NoSuchInterface { .. }), "{e}");
        assert!(e.to_string().contains("--list-interfaces"));
        let e = classify("eth0", Some("hots 1.2.3.4"), "syntax error".into());
        assert_eq!(e.to_string(), "--filter \"hots 1.2.3.4\": syntax error");
    }

    #[cfg(not(feature = "pcap"))]
    #[test]
    fn a_build_without_pcap_says_how_to_get_it() {
        let e = Interface::open(&Options { interface: "eth0".into(), ..Options::default() });
        assert!(e.unwrap_err().to_string().contains("--features live"));
        assert!(!available());
    }
}
