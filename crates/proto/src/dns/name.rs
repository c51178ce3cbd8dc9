//! DNS names: reading them from a message (compression pointers included) and rendering them as
//! text.
//!
//! Rendering (see [`super`] for how it compares with tshark):
//! - labels joined with `.`, no trailing dot, the root name is the empty string;
//! - ASCII letters lower-cased (RFC 4343: DNS compares names case-insensitively, ASCII only);
//! - printable ASCII (space included) kept, except `.` and `\` inside a label, written `\.` and
//!   `\\` so that a label holding a dot cannot pass for two labels;
//! - valid UTF-8 kept (mDNS names are UTF-8), except control characters;
//! - every other byte (C0 controls, DEL, C1 controls, invalid UTF-8) written `\DDD`, three decimal
//!   digits (RFC 1035 section 5.1 presentation format).
//!
//! Pointer safety: pointers are followed forwards as well as backwards, as tshark does
//! (suricata-verify's `dns-forward-pointer` capture has a question compressed with a forward
//! pointer, and tshark reports its name). Termination does not rely on the direction: a name stops
//! after [`MAX_POINTER_HOPS`] pointers or [`MAX_NAME_WIRE`] octets of labels, so any loop costs at
//! most that much work. A pointer to itself is reported as a loop at once.

use super::{MAX_LABELS, MAX_NAME_LEN, MAX_NAME_WIRE, MAX_POINTER_HOPS};

/// Why a name was cut short. The part read before the problem is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameIssue {
    /// A pointer loop: a pointer to itself, or more than [`MAX_POINTER_HOPS`] pointers.
    PointerLoop,
    /// Longer than [`MAX_NAME_WIRE`] octets, [`MAX_LABELS`] labels or [`MAX_NAME_LEN`] characters.
    TooLong,
    /// After a pointer: a label type other than 0b00/0b11, or a label or pointer running past the
    /// end of the message.
    BadTarget,
}

/// The name could not be delimited: the rest of the message cannot be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameFatal {
    /// The message ended inside the name.
    Truncated,
    /// A label type 0b01 (extended, RFC 6891 deprecated bit labels) or 0b10 (reserved) before any
    /// pointer: its length is unknown.
    BadLabelType,
}

/// A name read from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameRead {
    /// Offset just past the name where it was written (after its first pointer, or its root octet).
    pub(crate) end: usize,
    /// Set when the name was cut short; the text holds the labels read before the problem.
    pub(crate) issue: Option<NameIssue>,
}

/// Reads the name starting at `start` in `msg` and appends its rendering to `text`.
pub(crate) fn read_name(
    msg: &[u8],
    start: usize,
    text: &mut String,
) -> Result<NameRead, NameFatal> {
    let mut pos = start;
    // Where the name ends in the original sequence, known at the first pointer.
    let mut end: Option<usize> = None;
    // Octets of the name on the wire, root octet included.
    let mut wire = 1usize;
    let mut labels = 0usize;
    let mut hops = 0usize;
    let text_start = text.len();

    // On a problem: before any pointer the name cannot be delimited (fatal), after one it can.
    let cut = |end: Option<usize>, issue: NameIssue, fatal: NameFatal| match end {
        Some(end) => Ok(NameRead { end, issue: Some(issue) }),
        None => Err(fatal),
    };

    loop {
        let Some(&len) = msg.get(pos) else {
            return cut(end, NameIssue::BadTarget, NameFatal::Truncated);
        };
        match len >> 6 {
            0 if len == 0 => {
                let end = end.unwrap_or(pos.saturating_add(1));
                return Ok(NameRead { end, issue: None });
            }
            0 => {
                let first = pos.saturating_add(1);
                let last = first.saturating_add(usize::from(len));
                let Some(label) = msg.get(first..last) else {
                    return cut(end, NameIssue::BadTarget, NameFatal::Truncated);
                };
                wire = wire.saturating_add(1 + usize::from(len));
                labels += 1;
                if wire > MAX_NAME_WIRE
                    || labels > MAX_LABELS
                    || !push_label(text, text_start, label)
                {
                    return match end {
                        Some(end) => Ok(NameRead { end, issue: Some(NameIssue::TooLong) }),
                        None => {
                            let end = skip_name(msg, pos)?;
                            Ok(NameRead { end, issue: Some(NameIssue::TooLong) })
                        }
                    };
                }
                pos = last;
            }
            3 => {
                let Some(&low) = msg.get(pos.saturating_add(1)) else {
                    return cut(end, NameIssue::BadTarget, NameFatal::Truncated);
                };
                let end = *end.get_or_insert(pos.saturating_add(2));
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                hops += 1;
                if target == pos || hops > MAX_POINTER_HOPS {
                    return Ok(NameRead { end, issue: Some(NameIssue::PointerLoop) });
                }
                pos = target;
            }
            _ => return cut(end, NameIssue::BadTarget, NameFatal::BadLabelType),
        }
    }
}

/// Offset just past the name starting at `start`, without following pointers or rendering.
pub(crate) fn skip_name(msg: &[u8], start: usize) -> Result<usize, NameFatal> {
    let mut pos = start;
    loop {
        let &len = msg.get(pos).ok_or(NameFatal::Truncated)?;
        match len >> 6 {
            0 if len == 0 => return Ok(pos.saturating_add(1)),
            0 => {
                pos = pos.saturating_add(1 + usize::from(len));
                if pos > msg.len() {
                    return Err(NameFatal::Truncated);
                }
            }
            3 => {
                let end = pos.saturating_add(2);
                return if end <= msg.len() { Ok(end) } else { Err(NameFatal::Truncated) };
            }
            _ => return Err(NameFatal::BadLabelType),
        }
    }
}

/// Appends one label (with a `.` separator unless it is the first since `text_start`). Returns
/// false, leaving `text` as it was, if the result would exceed [`MAX_NAME_LEN`].
fn push_label(text: &mut String, text_start: usize, label: &[u8]) -> bool {
    let before = text.len();
    if before > text_start {
        text.push('.');
    }
    if label.is_ascii() {
        for &b in label {
            push_ascii(text, b);
        }
    } else {
        for chunk in label.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_ascii() {
                    push_ascii(text, c as u8);
                } else if c.is_control() {
                    let mut buf = [0u8; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        push_escaped(text, b);
                    }
                } else {
                    text.push(c);
                }
            }
            for &b in chunk.invalid() {
                push_escaped(text, b);
            }
        }
    }
    if text.len().saturating_sub(text_start) > MAX_NAME_LEN {
        text.truncate(before);
        return false;
    }
    true
}

/// Appends one ASCII byte of a label.
fn push_ascii(text: &mut String, b: u8) {
    match b {
        b'.' | b'\\' => {
            text.push('\\');
            text.push(char::from(b));
        }
        b' '..=b'~' => text.push(char::from(b.to_ascii_lowercase())),
        _ => push_escaped(text, b),
    }
}

/// Appends `\DDD` (decimal) for one byte.
fn push_escaped(text: &mut String, b: u8) {
    text.push('\\');
    text.push(char::from(b'0' + b / 100));
    text.push(char::from(b'0' + b / 10 % 10));
    text.push(char::from(b'0' + b % 10));
}
