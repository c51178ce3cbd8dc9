//! Key logs followed while a live session runs (`vpn --keylog`): a browser or app writing
//! `SSLKEYLOGFILE` appends a line per TLS connection as it opens it, so the file is read again
//! as it grows and every complete new line goes to the pipeline's key log. Decryptors wait for
//! keys in streaming mode (a bounded amount of ciphertext held per connection), so a connection
//! is opened when its line arrives within that window.
//!
//! Bounds: at most [`READ_PER_POLL`] bytes per file and poll, an incomplete last line held up
//! to [`MAX_PARTIAL`] bytes (beyond, dropped and counted as malformed); a file that shrank
//! (rewritten) is read again from its start; a file that does not exist yet is looked for at
//! the next poll.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Most bytes read from one key log at one poll.
pub(crate) const READ_PER_POLL: u64 = 4 << 20;
/// Longest incomplete line held until its end arrives.
pub(crate) const MAX_PARTIAL: usize = 64 * 1024;

struct Followed {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

/// The key logs of a session, followed (see the module doc).
pub(crate) struct KeylogFollower {
    files: Vec<Followed>,
    /// Secrets taken in so far.
    pub(crate) secrets: u64,
    /// Malformed lines so far.
    pub(crate) malformed: u64,
}

impl KeylogFollower {
    pub(crate) fn new(paths: &[PathBuf]) -> Self {
        let files =
            paths.iter().map(|p| Followed { path: p.clone(), offset: 0, partial: Vec::new() });
        Self { files: files.collect(), secrets: 0, malformed: 0 }
    }

    /// True when there is nothing to follow.
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Reads what the files gained since the last poll into `keys`.
    pub(crate) fn poll(&mut self, keys: &mut proto::KeyLog) {
        for f in &mut self.files {
            let Ok(mut file) = std::fs::File::open(&f.path) else { continue };
            let len = file.metadata().map_or(0, |m| m.len());
            if len < f.offset {
                f.offset = 0;
                f.partial.clear();
            }
            if len == f.offset || file.seek(SeekFrom::Start(f.offset)).is_err() {
                continue;
            }
            let mut data = std::mem::take(&mut f.partial);
            let read = file.take(READ_PER_POLL).read_to_end(&mut data).unwrap_or(0);
            f.offset += read as u64;
            let Some(end) = data.iter().rposition(|&b| b == b'\n') else {
                if data.len() > MAX_PARTIAL {
                    self.malformed += 1;
                } else {
                    f.partial = data;
                }
                continue;
            };
            let sum = keys.read(&data[..end]);
            self.secrets += sum.secrets as u64;
            self.malformed += sum.error_count as u64;
            let rest = &data[end + 1..];
            if rest.len() <= MAX_PARTIAL {
                f.partial = rest.to_vec();
            } else {
                self.malformed += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_taken_as_they_are_written_whole() {
        let dir =
            std::env::temp_dir().join(format!("phonehome-keylog-follow-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("keys.log");
        let _ = std::fs::remove_file(&path);
        let mut keys = proto::KeyLog::default();
        let mut f = KeylogFollower::new(std::slice::from_ref(&path));
        f.poll(&mut keys);
        assert_eq!(f.secrets, 0, "no file yet: nothing, no error");
        let line = |n: u8| {
            format!("CLIENT_RANDOM {} {}\n", format!("{n:02x}").repeat(32), "ab".repeat(48))
        };
        let one = line(1);
        // Half a line: held until its end arrives.
        std::fs::write(&path, &one[..40]).unwrap();
        f.poll(&mut keys);
        assert_eq!((f.secrets, f.malformed), (0, 0));
        std::fs::write(&path, format!("{one}{}", line(2))).unwrap();
        f.poll(&mut keys);
        assert_eq!((f.secrets, f.malformed, keys.len()), (2, 0, 2));
        f.poll(&mut keys);
        assert_eq!(f.secrets, 2, "nothing new, nothing read twice");
        // Rewritten shorter: read again from the start.
        std::fs::write(&path, line(3)).unwrap();
        f.poll(&mut keys);
        assert_eq!((f.secrets, keys.len()), (3, 3));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
