//! Schema-less protobuf (proto2/proto3 wire format) and gRPC message framing.
//!
//! [`parse`] reads one message as a sequence of fields, `tag (varint: field number << 3 | wire
//! type)` then the value: varint (0), 64-bit (1), length-delimited (2), 32-bit (5); groups (3, 4)
//! are skipped by matching their end tag. The whole buffer must be fields to its last byte, or it
//! is not a message. Nothing is known about the schema, so the caller decides what a
//! length-delimited value is: it is searched as bytes (strings), and walked again when it too
//! parses as a message ([`looks_like_message`]); varints and fixed-width numbers are searched as
//! decimal text, where numeric identifiers (an IMEI sent as `int64`) show.
//!
//! Bounds: [`MAX_FIELDS`] fields per message, group nesting [`MAX_GROUP_DEPTH`]; the caller bounds
//! message nesting ([`MAX_NESTING`]).

/// Fields read from one message; a longer message is not walked.
pub const MAX_FIELDS: usize = 65_536;
/// Messages inside messages walked.
pub const MAX_NESTING: usize = 16;
/// Nested groups skipped inside one field.
const MAX_GROUP_DEPTH: usize = 32;
/// gRPC messages walked per body.
pub const MAX_GRPC_MESSAGES: usize = 4_096;

/// A field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 5.
    Fixed32(u32),
    /// Wire type 2: a string, bytes, a message or packed numbers.
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Skips a group's contents up to its end tag for `field`.
fn skip_group(data: &[u8], pos: &mut usize, field: u64, depth: usize) -> Option<()> {
    if depth > MAX_GROUP_DEPTH {
        return None;
    }
    loop {
        let tag = varint(data, pos)?;
        match tag & 7 {
            4 if tag >> 3 == field => return Some(()),
            3 => skip_group(data, pos, tag >> 3, depth + 1)?,
            t => {
                one_value(data, pos, t)?;
            }
        }
    }
}

fn one_value<'a>(data: &'a [u8], pos: &mut usize, wire: u64) -> Option<Value<'a>> {
    Some(match wire {
        0 => Value::Varint(varint(data, pos)?),
        1 => {
            let b = data.get(*pos..*pos + 8)?;
            *pos += 8;
            Value::Fixed64(u64::from_le_bytes(b.try_into().ok()?))
        }
        5 => {
            let b = data.get(*pos..*pos + 4)?;
            *pos += 4;
            Value::Fixed32(u32::from_le_bytes(b.try_into().ok()?))
        }
        2 => {
            let len = usize::try_from(varint(data, pos)?).ok()?;
            let end = pos.checked_add(len)?;
            let b = data.get(*pos..end)?;
            *pos = end;
            Value::Bytes(b)
        }
        _ => return None,
    })
}

/// The fields of `data` as one message, `(field number, value)` in order; `None` when it is not
/// a well-formed message (or an empty one), or has more than [`MAX_FIELDS`] fields.
pub(crate) fn parse(data: &[u8]) -> Option<Vec<(u32, Value<'_>)>> {
    if data.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let tag = varint(data, &mut pos)?;
        let field = u32::try_from(tag >> 3).ok().filter(|f| (1..(1 << 29)).contains(f))?;
        let wire = tag & 7;
        if wire == 3 {
            skip_group(data, &mut pos, tag >> 3, 0)?;
            continue;
        }
        out.push((field, one_value(data, &mut pos, wire)?));
        if out.len() > MAX_FIELDS {
            return None;
        }
    }
    Some(out)
}

/// True when `data` holds a byte that printable text does not (so a string such as `"(abc"`,
/// which happens to parse as fields, is not walked as a message), and parses as one.
pub(crate) fn looks_like_message(data: &[u8]) -> bool {
    data.iter().any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') || b == 0x7f)
        && parse(data).is_some()
}

/// The varints of a packed repeated field, when `data` is exactly that (at most 4,096 of them).
pub(crate) fn packed_varints(data: &[u8]) -> Option<Vec<u64>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() && out.len() < 4096 {
        out.push(varint(data, &mut pos)?);
    }
    (pos == data.len() && !out.is_empty()).then_some(out)
}

/// The messages of a gRPC body (RFC-like framing of gRPC over HTTP/2: a compressed flag byte, a
/// 4-byte big-endian length, the message), with their compressed flag; `None` when the body is
/// not exactly such frames.
pub(crate) fn grpc_messages(body: &[u8]) -> Option<Vec<(bool, &[u8])>> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (&flag, tail) = rest.split_first()?;
        let (len, tail) = tail.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if flag > 1 || len > tail.len() || out.len() >= MAX_GRPC_MESSAGES {
            return None;
        }
        out.push((flag == 1, &tail[..len]));
        rest = &tail[len..];
    }
    (!out.is_empty()).then_some(out)
}

/// A media type that says protobuf (`application/x-protobuf`, `application/protobuf`,
/// `application/vnd.google.protobuf`, `application/x-protobuffer`, `...+proto`).
pub(crate) fn is_protobuf_media(media: &[u8]) -> bool {
    media.ends_with(b"protobuf") || media.ends_with(b"protobuffer") || media.ends_with(b"+proto")
}

/// A gRPC media type (`application/grpc`, `application/grpc+proto`, `application/grpc-web...`).
pub(crate) fn is_grpc_media(media: &[u8]) -> bool {
    media.starts_with(b"application/grpc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_wire_type_and_refuses_trailing_garbage() {
        // field 1 varint 150; field 2 string "testing"; field 3 fixed64; field 4 fixed32;
        // field 5 group containing field 1 varint 1.
        let mut m = vec![0x08, 0x96, 0x01, 0x12, 0x07];
        m.extend_from_slice(b"testing");
        m.push(0x19);
        m.extend_from_slice(&7u64.to_le_bytes());
        m.push(0x25);
        m.extend_from_slice(&9u32.to_le_bytes());
        m.extend_from_slice(&[0x2b, 0x08, 0x01, 0x2c]);
        let f = parse(&m).unwrap();
        assert_eq!(
            f,
            vec![
                (1, Value::Varint(150)),
                (2, Value::Bytes(b"testing")),
                (3, Value::Fixed64(7)),
                (4, Value::Fixed32(9)),
            ]
        );
        for n in 1..m.len() {
            // Every cut inside a field is not a message (cuts between fields are).
            let cut = parse(&m[..n]);
            assert!(cut.is_none() || [3, 12, 21, 26, 30].contains(&n), "cut at {n}: {cut:?}");
        }
        assert!(parse(&[0x08]).is_none());
        assert!(parse(&[0x00, 0x01]).is_none(), "field number 0");
        assert!(parse(&[0x0f, 0x01]).is_none(), "wire type 7");
        assert!(parse(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_none(), "length past the end");
        assert!(
            parse(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_none()
        );
    }

    #[test]
    fn strings_are_not_taken_for_messages_but_binary_is() {
        assert!(!looks_like_message(b"(abc"));
        assert!(looks_like_message(&[0x08, 0x01, 0x12, 0x01, b'x']));
        assert_eq!(packed_varints(&[0x01, 0x96, 0x01]), Some(vec![1, 150]));
        assert_eq!(packed_varints(&[0x96]), None);
    }

    #[test]
    fn grpc_frames() {
        let mut b = vec![0, 0, 0, 0, 2, 0x08, 0x01];
        b.extend_from_slice(&[1, 0, 0, 0, 1, 0xaa]);
        assert_eq!(grpc_messages(&b), Some(vec![(false, &[0x08, 0x01][..]), (true, &[0xaa][..])]));
        assert_eq!(grpc_messages(&b[..6]), None);
        assert_eq!(grpc_messages(&[2, 0, 0, 0, 0]), None);
    }

    #[test]
    fn deep_groups_are_bounded() {
        let m = vec![0x0b; 100]; // field 1 start group, a hundred times
        assert!(parse(&m).is_none());
    }
}
