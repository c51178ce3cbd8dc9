//! Writing pcapng: what `phonehome watch` captured, so that every finding keeps its evidence and
//! the session can be analysed again (by phonehome, Wireshark or anything else).
//!
//! Contract:
//! - [`PcapngWriter`] writes a Section Header Block (naming the writing application), one
//!   Interface Description Block per link type met (nanosecond timestamps, `if_tsresol` 9, the
//!   snap length), one Enhanced Packet Block per frame and, at [`PcapngWriter::finish`], an
//!   Interface Statistics Block per interface with what the kernel received and dropped, when
//!   known. Little-endian; blocks padded to 32 bits. Frames longer than [`crate::MAX_RECORD_LEN`]
//!   are cut to it (the original length is kept), so that every reader reads them back.
//! - [`RotatingWriter`] writes a session as a numbered series of files: the first is the path
//!   given, the next `NAME-2.pcapng`, `NAME-3.pcapng`, ... It starts the next file when the
//!   current one would pass [`Rotation::max_bytes`] or spans [`Rotation::max_age_ns`] of capture
//!   time, and keeps at most [`Rotation::max_files`] of them, deleting the oldest: a session never
//!   fills the disk. Frame numbers restart at 1 in each file, as Wireshark numbers them.
//! - Files are created with mode 0600 on Unix: a capture is personal data.
//! - A frame is handed to the buffered writer whole; I/O errors are returned, never hidden.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{LinkType, MAX_RECORD_LEN, Timestamp};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const ISB: u32 = 5;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// What the kernel said of an interface at the end: packets it received and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Packets the capture received (`isb_ifrecv`).
    pub received: u64,
    /// Packets dropped because the capture did not keep up (`isb_ifdrop`).
    pub dropped: u64,
}

/// A pcapng writer over any byte sink.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    snaplen: u32,
    interfaces: Vec<LinkType>,
    bytes: u64,
    frames: u64,
    last_ts: Timestamp,
}

fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a section; `application` names the writer (`shb_userappl`), `snaplen` is what the
    /// interfaces were captured with (0: unlimited).
    pub fn new(mut out: W, application: &str, snaplen: u32) -> io::Result<Self> {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        option(&mut body, 4, application.as_bytes());
        option(&mut body, 0, &[]);
        let bytes = write_block(&mut out, SHB, &body)?;
        Ok(Self { out, snaplen, interfaces: Vec::new(), bytes, frames: 0, last_ts: Timestamp(0) })
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The bytes one frame of `len` bytes takes (to decide a rotation before writing it).
    pub fn frame_size(len: usize) -> u64 {
        12 + 20 + len.min(MAX_RECORD_LEN).next_multiple_of(4) as u64
    }

    /// Writes one frame; returns its 1-based number in this file.
    pub fn write(
        &mut self,
        link: LinkType,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<u64> {
        let interface = match self.interfaces.iter().position(|&l| l == link) {
            Some(i) => i,
            None => {
                let mut body = Vec::with_capacity(20);
                body.extend_from_slice(&(link.0 as u16).to_le_bytes());
                body.extend_from_slice(&0u16.to_le_bytes());
                body.extend_from_slice(&self.snaplen.to_le_bytes());
                option(&mut body, 9, &[9]);
                option(&mut body, 0, &[]);
                self.bytes += write_block(&mut self.out, IDB, &body)?;
                self.interfaces.push(link);
                self.interfaces.len() - 1
            }
        };
        let data = &data[..data.len().min(MAX_RECORD_LEN)];
        let ns = ts.0.max(0) as u64;
        let mut head = [0u8; 20];
        head[0..4].copy_from_slice(&(interface as u32).to_le_bytes());
        head[4..8].copy_from_slice(&((ns >> 32) as u32).to_le_bytes());
        head[8..12].copy_from_slice(&(ns as u32).to_le_bytes());
        head[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
        head[16..20].copy_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        let total = Self::frame_size(data.len());
        let len = (total as u32).to_le_bytes();
        let pad = [0u8; 3];
        self.out.write_all(&EPB.to_le_bytes())?;
        self.out.write_all(&len)?;
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(&pad[..data.len().next_multiple_of(4) - data.len()])?;
        self.out.write_all(&len)?;
        self.bytes += total;
        self.frames += 1;
        self.last_ts = self.last_ts.max(ts);
        Ok(self.frames)
    }

    /// Pushes what is buffered to the sink.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the file: an Interface Statistics Block per interface when `stats` are known (the
    /// counters are the capture's whole, written to each interface's block), then a flush.
    pub fn finish(mut self, stats: Option<InterfaceStats>) -> io::Result<W> {
        if let Some(s) = stats {
            for i in 0..self.interfaces.len() {
                let mut body = Vec::with_capacity(48);
                let ns = self.last_ts.0.max(0) as u64;
                body.extend_from_slice(&(i as u32).to_le_bytes());
                body.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
                body.extend_from_slice(&(ns as u32).to_le_bytes());
                option(&mut body, 4, &s.received.to_le_bytes());
                option(&mut body, 5, &s.dropped.to_le_bytes());
                option(&mut body, 0, &[]);
                self.bytes += write_block(&mut self.out, ISB, &body)?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<u64> {
    debug_assert_eq!(body.len() % 4, 0);
    let total = (12 + body.len()) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())?;
    Ok(u64::from(total))
}

/// When a session's next file starts, and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Longest span of capture time in one file, in nanoseconds (`None`: no limit).
    pub max_age_ns: Option<i64>,
    /// Files kept; the oldest is deleted when another would pass this.
    pub max_files: usize,
}

impl Default for Rotation {
    /// 1 GiB files, no time limit, 10 files: at most 10 GiB of disk.
    fn default() -> Self {
        Self { max_bytes: 1 << 30, max_age_ns: None, max_files: 10 }
    }
}

/// One file of a session, as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFile {
    /// Its path.
    pub path: PathBuf,
    /// Frames written to it.
    pub frames: u64,
    /// Its size.
    pub bytes: u64,
    /// Capture time of its first and last frame.
    pub span: Option<(Timestamp, Timestamp)>,
    /// Deleted by the rotation (more than [`Rotation::max_files`] files).
    pub deleted: bool,
}

/// Where [`RotatingWriter::write`] put a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Index of the file in the session (0-based).
    pub file: usize,
    /// 1-based frame number in that file.
    pub frame: u64,
    /// True when this frame started a new file.
    pub new_file: bool,
}

/// A session written as a rotating series of pcapng files (see the module doc).
#[derive(Debug)]
pub struct RotatingWriter {
    base: PathBuf,
    application: String,
    snaplen: u32,
    rotation: Rotation,
    current: Option<PcapngWriter<BufWriter<File>>>,
    files: Vec<SessionFile>,
}

impl RotatingWriter {
    /// A session that writes its first file at `base` (created or truncated, mode 0600) at once,
    /// so that a path that cannot be written is an error before capturing starts.
    pub fn create(
        base: &Path,
        application: &str,
        snaplen: u32,
        rotation: Rotation,
    ) -> io::Result<Self> {
        let mut w = Self {
            base: base.to_path_buf(),
            application: application.to_string(),
            snaplen,
            rotation: Rotation { max_files: rotation.max_files.max(1), ..rotation },
            current: None,
            files: Vec::new(),
        };
        w.open_next()?;
        Ok(w)
    }

    /// The path of file `index` (0-based): the base, then `NAME-2.EXT`, `NAME-3.EXT`...
    pub fn path_of(base: &Path, index: usize) -> PathBuf {
        if index == 0 {
            return base.to_path_buf();
        }
        let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name = match base.extension() {
            Some(ext) => format!("{stem}-{}.{}", index + 1, ext.to_string_lossy()),
            None => format!("{stem}-{}", index + 1),
        };
        base.with_file_name(name)
    }

    fn open_next(&mut self) -> io::Result<()> {
        let index = self.files.len();
        let path = Self::path_of(&self.base, index);
        let file = create_private(&path)?;
        let w = PcapngWriter::new(
            BufWriter::with_capacity(1 << 16, file),
            &self.application,
            self.snaplen,
        )?;
        self.files.push(SessionFile {
            path,
            frames: 0,
            bytes: w.bytes(),
            span: None,
            deleted: false,
        });
        self.current = Some(w);
        let live: Vec<usize> = (0..self.files.len()).filter(|&i| !self.files[i].deleted).collect();
        if live.len() > self.rotation.max_files {
            let oldest = live[0];
            std::fs::remove_file(&self.files[oldest].path)?;
            self.files[oldest].deleted = true;
        }
        Ok(())
    }

    /// Writes one frame, starting the next file first when the rotation says so.
    pub fn write(
        &mut self,
        link: LinkType,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<Written> {
        let mut new_file = false;
        if let (Some(cur), Some(meta)) = (&self.current, self.files.last()) {
            let too_big = cur.frames() > 0
                && cur.bytes() + PcapngWriter::<File>::frame_size(data.len())
                    > self.rotation.max_bytes;
            let too_old = match (self.rotation.max_age_ns, meta.span) {
                (Some(age), Some((first, _))) => ts.0.saturating_sub(first.0) >= age,
                _ => false,
            };
            if too_big || too_old {
                self.close_current(None)?;
                self.open_next()?;
                new_file = true;
            }
        }
        let Some(cur) = self.current.as_mut() else {
            return Err(io::Error::other("the session's files are closed"));
        };
        let frame = cur.write(link, ts, data, orig_len)?;
        let bytes = cur.bytes();
        let index = self.files.len() - 1;
        let meta = &mut self.files[index];
        meta.frames = frame;
        meta.bytes = bytes;
        meta.span = Some(match meta.span {
            None => (ts, ts),
            Some((a, b)) => (a.min(ts), b.max(ts)),
        });
        Ok(Written { file: index, frame, new_file })
    }

    fn close_current(&mut self, stats: Option<InterfaceStats>) -> io::Result<()> {
        if let Some(w) = self.current.take() {
            let bytes_before = w.bytes();
            let mut out = w.finish(stats)?;
            out.flush()?;
            if let Some(meta) = self.files.last_mut() {
                // The statistics blocks, when written.
                meta.bytes = meta.bytes.max(bytes_before);
                if let Ok(m) = out.get_ref().metadata() {
                    meta.bytes = m.len();
                }
            }
        }
        Ok(())
    }

    /// Pushes what is buffered to the current file (a live session does so on every refresh,
    /// so that the file on disk is never far behind).
    pub fn flush(&mut self) -> io::Result<()> {
        match self.current.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// The session's files so far, in order (deleted ones included and marked).
    pub fn files(&self) -> &[SessionFile] {
        &self.files
    }

    /// Ends the session: the current file gets the interface statistics (when known) and is
    /// closed. Returns every file of the session.
    pub fn finish(mut self, stats: Option<InterfaceStats>) -> io::Result<Vec<SessionFile>> {
        self.close_current(stats)?;
        Ok(self.files)
    }
}

/// Creates (or truncates) a file only its owner can read and write.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // An existing file keeps its mode through `open`: make it private too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests;
