//! Which app on the phone sent a packet, when the capture says so. PCAPdroid records it in two
//! ways, both read here (layouts from its documentation and its Wireshark dissector):
//! - **The PCAPdroid trailer** (pcap exports with "PCAPdroid trailer" on): each IP packet behind a
//!   made-up Ethernet header, padded to 4 bytes, then 32 bytes: the magic `0x01072021`, the app's
//!   uid (big-endian, signed), its name in 20 bytes (NUL-padded, cut when longer) and a CRC-32 of
//!   every byte before it. A trailer whose CRC does not match (forged, or the frame altered) is
//!   not believed; one cut by the snap length cannot be read: both are counted.
//! - **pcapng**: an Enhanced Packet Block comment `u-<uid>`, and a Custom Block of PEN 62652
//!   (version 1, type 1: uid mapping) giving the uid's package name and app name.
//!
//! A frame's uid, and the package and name learned for it, are handed to the pipeline, which
//! gives each flow the app of its first tagged packet ([`AppStats::conflicts`] counts packets of
//! a flow tagged with another uid). At most [`MAX_APPS`] uids are remembered with names; every
//! count is in [`AppStats`]. Captures without any of this are read as before, at the cost of one
//! length check and a 4-byte compare per Ethernet frame.

use std::collections::HashMap;

use capture::{Frame, LinkType};

/// PCAPdroid's IANA Private Enterprise Number, in its pcapng Custom Blocks.
pub const PCAPDROID_PEN: u32 = 62_652;
/// Uids remembered with their package and app names.
pub const MAX_APPS: usize = 4096;
const TRAILER_MAGIC: [u8; 4] = [0x01, 0x07, 0x20, 0x21];
const TRAILER_LEN: usize = 32;
/// A made-up Ethernet header and the smallest IPv4 header before a trailer.
const MIN_TAGGED_FRAME: usize = 14 + 20 + TRAILER_LEN;

/// An app: its Android uid and, when the capture named it, its package and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct App {
    /// The Android uid (10000 and above: installed apps; 1000: the system).
    pub uid: i32,
    /// The package (`com.miui.analytics`); a trailer's may be cut at 20 bytes.
    pub package: Option<String>,
    /// The name people see (`Analytics`).
    pub name: Option<String>,
}

impl App {
    /// The package, else the name, else `uid 10123`.
    pub fn label(&self) -> String {
        self.package
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| format!("uid {}", self.uid))
    }
}

/// What the app metadata of a run held, and what of it was not believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStats {
    /// Frames whose app is known.
    pub tagged_frames: u64,
    /// PCAPdroid trailers read.
    pub trailers: u64,
    /// Trailers with the magic whose CRC or name did not hold: not believed.
    pub bad_trailers: u64,
    /// Frames cut by the snap length in a capture with trailers (the trailer is lost).
    pub cut_trailers: u64,
    /// `u-<uid>` comments read.
    pub comments: u64,
    /// PCAPdroid uid mapping blocks read.
    pub uid_maps: u64,
    /// PCAPdroid blocks that could not be read (another version or type, cut short).
    pub bad_blocks: u64,
    /// Uids past [`MAX_APPS`], known by number only.
    pub capped: u64,
    /// Packets of a flow tagged with another uid than the flow's first.
    pub conflicts: u64,
}

/// The run's app metadata (see the module doc).
#[derive(Debug, Default)]
pub struct Apps {
    names: HashMap<i32, (Option<String>, Option<String>)>,
    stats: AppStats,
}

impl Apps {
    /// Reads a frame's metadata: the uid mappings given before it, then its own uid.
    pub fn frame(&mut self, frame: &Frame<'_>) -> Option<i32> {
        for block in frame.custom.iter().filter(|b| b.pen == PCAPDROID_PEN) {
            self.uid_map(&block.data, block.big_endian);
        }
        let uid = match frame.comment.and_then(comment_uid) {
            Some(uid) => {
                self.stats.comments += 1;
                Some(uid)
            }
            None if frame.link == LinkType::ETHERNET => self.trailer(frame),
            None => None,
        };
        self.stats.tagged_frames += u64::from(uid.is_some());
        uid
    }

    /// The app of `uid`, with what the capture named it.
    pub fn app(&self, uid: i32) -> App {
        let (package, name) = self.names.get(&uid).cloned().unwrap_or_default();
        App { uid, package, name }
    }

    /// The counters.
    pub fn stats(&self) -> &AppStats {
        &self.stats
    }

    /// Counts a packet of a flow tagged with another uid than the flow's.
    pub fn conflict(&mut self) {
        self.stats.conflicts += 1;
    }

    fn remember(&mut self, uid: i32, package: Option<String>, name: Option<String>) {
        if let Some(e) = self.names.get_mut(&uid) {
            // A uid map's full names win over a trailer's cut one.
            if package.as_ref().is_some_and(|p| e.0.as_ref().is_none_or(|q| p.len() > q.len())) {
                e.0 = package;
            }
            if name.is_some() {
                e.1 = name;
            }
        } else if self.names.len() < MAX_APPS {
            self.names.insert(uid, (package, name));
        } else {
            self.stats.capped += 1;
        }
    }

    /// A PCAPdroid trailer at the end of an Ethernet frame, when one is there and holds.
    fn trailer(&mut self, frame: &Frame<'_>) -> Option<i32> {
        let d = frame.data;
        if (d.len() as u64) < u64::from(frame.orig_len) {
            if self.stats.trailers > 0 {
                self.stats.cut_trailers += 1;
            }
            return None;
        }
        if d.len() < MIN_TAGGED_FRAME {
            return None;
        }
        let t = &d[d.len() - TRAILER_LEN..];
        if t[..4] != TRAILER_MAGIC {
            return None;
        }
        let uid = i32::from_be_bytes([t[4], t[5], t[6], t[7]]);
        let fcs = [t[28], t[29], t[30], t[31]];
        let mut crc = flate2::Crc::new();
        crc.update(&d[..d.len() - 4]);
        let sum = crc.sum();
        let name = trailer_name(&t[8..28]);
        if (sum != u32::from_le_bytes(fcs) && sum != u32::from_be_bytes(fcs)) || name.is_none() {
            self.stats.bad_trailers += 1;
            return None;
        }
        self.stats.trailers += 1;
        self.remember(uid, name.filter(|n| !n.is_empty()), None);
        Some(uid)
    }

    /// A uid mapping block's data (after the PEN): version (u16), type (u8), a pad byte, uid
    /// (u32), package and name lengths (u8 each), package, name.
    fn uid_map(&mut self, data: &[u8], big_endian: bool) {
        let Some(head) = data.get(..10) else {
            self.stats.bad_blocks += 1;
            return;
        };
        let (le, be) =
            (u16::from_le_bytes([head[0], head[1]]), u16::from_be_bytes([head[0], head[1]]));
        // The section's byte order, else the other one when only it reads version 1.
        let big = match (le, be) {
            (1, 1) => big_endian,
            (_, 1) => true,
            (1, _) => false,
            _ => {
                self.stats.bad_blocks += 1;
                return;
            }
        };
        if head[2] != 1 {
            self.stats.bad_blocks += 1;
            return;
        }
        let u = [head[4], head[5], head[6], head[7]];
        let uid = if big { i32::from_be_bytes(u) } else { i32::from_le_bytes(u) };
        let (pn, an) = (usize::from(head[8]), usize::from(head[9]));
        let (Some(package), Some(name)) = (data.get(10..10 + pn), data.get(10 + pn..10 + pn + an))
        else {
            self.stats.bad_blocks += 1;
            return;
        };
        let text = |b: &[u8]| {
            let s = String::from_utf8_lossy(b).replace(char::is_control, "");
            (!s.is_empty()).then_some(s)
        };
        self.stats.uid_maps += 1;
        self.remember(uid, text(package), text(name));
    }
}

/// `u-10123` (PCAPdroid's EPB comment): the uid.
fn comment_uid(comment: &[u8]) -> Option<i32> {
    let digits = comment.strip_prefix(b"u-")?;
    if digits.is_empty() || digits.len() > 11 {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A trailer's 20-byte name: up to the first NUL, printable ASCII only (`None` otherwise: a
/// made-up trailer).
fn trailer_name(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let name = &b[..end];
    if !b[end..].iter().all(|&c| c == 0) || !name.iter().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    Some(String::from_utf8_lossy(name).into_owned())
}

#[cfg(test)]
mod tests;
