//! Input framing shared by the fuzz targets that drive both sides of a connection: an optional
//! key log in front, then records of `control byte, u16 little-endian length, bytes` (the last
//! one cut short at the end of the input). What the control byte means is the target's.

// Each target uses what it needs of this module.
#![allow(dead_code)]

use proto::KeyLog;

/// The key log in front of `data` (a u16 little-endian length, that many bytes of key log text;
/// bad lines are skipped as the parser counts them) and what follows it.
pub fn keylog_prefix(data: &[u8]) -> Option<(KeyLog, &[u8])> {
    let (len, rest) = data.split_first_chunk::<2>()?;
    let n = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (text, rest) = rest.split_at(n);
    let mut keys = KeyLog::new();
    let _ = keys.read(text);
    Some((keys, rest))
}

/// The records of `data`, in order: `(control byte, bytes)`.
pub fn records(mut rest: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&ctl, tail) = rest.split_first()?;
        let (len, tail) = tail.split_first_chunk::<2>()?;
        let n = usize::from(u16::from_le_bytes(*len)).min(tail.len());
        let (bytes, tail) = tail.split_at(n);
        rest = tail;
        Some((ctl, bytes))
    })
}
