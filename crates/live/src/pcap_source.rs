//! The libpcap source (feature `pcap`).

use capture::{LinkType, Timestamp};

use crate::{
    BUFFER_BYTES, DEFAULT_SNAPLEN, Device, LiveError, Options, Packet, READ_TIMEOUT_MS, Stats,
    classify,
};

pub(crate) struct Source {
    cap: pcap::Capture<pcap::Active>,
    /// libpcap's last 32-bit counters and our 64-bit totals.
    last: (u32, u32, u32),
    totals: Stats,
    /// The last read gave a packet: more may be waiting in the ring.
    pending: bool,
}

fn words(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Source {
    pub(crate) fn open(o: &Options) -> Result<(Self, LinkType), LiveError> {
        let name = o.interface.as_str();
        let fail = |e: pcap::Error| classify(name, None, words(&e));
        let snaplen = if o.snaplen == 0 { DEFAULT_SNAPLEN } else { o.snaplen };
        let inactive = pcap::Capture::from_device(name).map_err(fail)?;
        let mut cap = inactive
            .promisc(o.promiscuous)
            .snaplen(i32::try_from(snaplen).unwrap_or(i32::MAX))
            .timeout(READ_TIMEOUT_MS)
            .buffer_size(BUFFER_BYTES)
            .precision(pcap::Precision::Nano)
            .open()
            .map_err(fail)?;
        if let Some(filter) = &o.filter {
            cap.filter(filter, true).map_err(|e| classify(name, Some(filter), words(&e)))?;
        }
        // Non-blocking, and our own poll with a timeout (see Cargo.toml).
        let cap = cap.setnonblock().map_err(fail)?;
        let link = LinkType(cap.get_datalink().0 as u32);
        Ok((Self { cap, last: (0, 0, 0), totals: Stats::default(), pending: false }, link))
    }

    pub(crate) fn next(&mut self, name: &str) -> Result<Option<Packet<'_>>, LiveError> {
        if !self.ready(name)? {
            return Ok(None);
        }
        match self.cap.next_packet() {
            Ok(p) => {
                // Nanosecond precision: `tv_usec` holds nanoseconds. (`time_t` is i32 on some
                // platforms: the conversion is not useless everywhere.)
                #[allow(clippy::useless_conversion)]
                let ts = Timestamp(
                    i64::from(p.header.ts.tv_sec)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(p.header.ts.tv_usec)),
                );
                self.pending = true;
                Ok(Some(Packet { ts, data: p.data, orig_len: p.header.len }))
            }
            // Non-blocking: nothing more for now.
            Err(pcap::Error::TimeoutExpired) => {
                self.pending = false;
                Ok(None)
            }
            Err(e) => Err(classify(name, None, words(&e))),
        }
    }

    /// True when a packet can be read now, or after waiting at most [`READ_TIMEOUT_MS`].
    fn ready(&mut self, name: &str) -> Result<bool, LiveError> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        use std::os::fd::AsFd;
        // Packets already in the ring are read without a system call.
        if self.pending {
            return Ok(true);
        }
        let fd = self.cap.as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let timeout = Timespec { tv_sec: 0, tv_nsec: i64::from(READ_TIMEOUT_MS) * 1_000_000 };
        match poll(&mut fds, Some(&timeout)) {
            Ok(n) => Ok(n > 0),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(classify(name, None, format!("poll: {e}"))),
        }
    }

    pub(crate) fn stats(&mut self) -> Stats {
        if let Ok(s) = self.cap.stats() {
            let now = (s.received, s.dropped, s.if_dropped);
            self.totals.received += u64::from(now.0.wrapping_sub(self.last.0));
            self.totals.dropped += u64::from(now.1.wrapping_sub(self.last.1));
            self.totals.if_dropped += u64::from(now.2.wrapping_sub(self.last.2));
            self.last = now;
        }
        self.totals
    }
}

pub(crate) fn list() -> Result<Vec<Device>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| classify("", None, words(&e)))?;
    Ok(devices
        .into_iter()
        .map(|d| Device {
            up: d.flags.is_up() && d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}
