//! tnetstrings (<https://tnetstrings.info>), the record format of mitmproxy flow dumps:
//! `LENGTH:DATA TYPE` with type `,` bytes, `;` text, `#` integer, `^` float, `!` boolean,
//! `~` null, `]` list, `}` dictionary (alternating keys and values).
//!
//! Bounds: nesting at most [`MAX_DEPTH`]; every length is checked against the input before use,
//! so a hostile length cannot allocate.

/// Deepest list/dictionary nesting read.
pub const MAX_DEPTH: usize = 64;

/// A parsed value; byte strings borrow the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `,` or `;`.
    Bytes(&'a [u8]),
    /// `#`.
    Int(i64),
    /// `^`.
    Float(f64),
    /// `!`.
    Bool(bool),
    /// `~`.
    Null,
    /// `]`.
    List(Vec<Self>),
    /// `}`: key/value pairs in order.
    Dict(Vec<(&'a [u8], Self)>),
}

impl<'a> Value<'a> {
    /// The value under `key` of a dictionary.
    pub fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Dict(d) => d.iter().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The bytes of a string value.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A string value as text (lossy).
    pub fn text(&self) -> Option<String> {
        self.bytes().map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// An integer (or a float, truncated).
    pub fn int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Float(f) => Some(*f as i64),
            _ => None,
        }
    }

    /// A float (or an integer).
    pub fn float(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            Self::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// A list's items.
    pub fn list(&self) -> Option<&[Self]> {
        match self {
            Self::List(l) => Some(l),
            _ => None,
        }
    }
}

/// Why reading stopped, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Byte offset of the value that could not be read.
    pub offset: usize,
    /// Why.
    pub reason: &'static str,
}

/// Reads one value at the start of `data`; returns it and the bytes consumed.
///
/// # Errors
/// [`Error`] with the offset of the broken value.
pub fn parse(data: &[u8]) -> Result<(Value<'_>, usize), Error> {
    parse_at(data, 0, 0)
}

fn parse_at(data: &[u8], at: usize, depth: usize) -> Result<(Value<'_>, usize), Error> {
    let err = |reason| Error { offset: at, reason };
    if depth > MAX_DEPTH {
        return Err(err("nested too deep"));
    }
    let rest = data.get(at..).ok_or(err("past the end"))?;
    let colon = rest.iter().take(12).position(|&b| b == b':').ok_or(err("no length"))?;
    let digits = &rest[..colon];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(err("length is not a number"));
    }
    let len: usize = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or(err("length too large"))?;
    let start = at + colon + 1;
    let end = start.checked_add(len).ok_or(err("length too large"))?;
    let payload = data.get(start..end).ok_or(err("length past the end"))?;
    let typ = *data.get(end).ok_or(err("no type byte"))?;
    let text = || std::str::from_utf8(payload).map_err(|_| err("not text"));
    let value = match typ {
        b',' | b';' => Value::Bytes(payload),
        b'#' => Value::Int(text()?.parse().map_err(|_| err("bad integer"))?),
        b'^' => Value::Float(text()?.parse().map_err(|_| err("bad float"))?),
        b'!' => Value::Bool(payload == b"true"),
        b'~' => Value::Null,
        b']' => {
            let mut items = Vec::new();
            let mut p = start;
            while p < end {
                let (v, n) = parse_at(&data[..end], p, depth + 1)?;
                items.push(v);
                p += n;
            }
            Value::List(items)
        }
        b'}' => {
            let mut items = Vec::new();
            let mut p = start;
            while p < end {
                let (k, n) = parse_at(&data[..end], p, depth + 1)?;
                let Value::Bytes(k) = k else { return Err(err("dictionary key is not a string")) };
                p += n;
                let (v, n) = parse_at(&data[..end], p, depth + 1)?;
                items.push((k, v));
                p += n;
            }
            Value::Dict(items)
        }
        _ => return Err(err("unknown type byte")),
    };
    Ok((value, end + 1 - at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_and_nesting() {
        let (v, n) =
            parse(b"65:5:hello,3:abc;1:n,1:7#1:f,3:1.5^1:b,4:true!1:z,0:~1:l,8:1:x,1:y,]}")
                .unwrap();
        assert_eq!(n, 69);
        assert_eq!(v.get("hello"), Some(&Value::Bytes(b"abc")));
        assert_eq!(v.get("n").and_then(Value::int), Some(7));
        assert_eq!(v.get("f").and_then(Value::float), Some(1.5));
        assert_eq!(v.get("b"), Some(&Value::Bool(true)));
        assert_eq!(v.get("z"), Some(&Value::Null));
        assert_eq!(v.get("l").and_then(Value::list).map(<[_]>::len), Some(2));
        let (v, _) = parse(b"8:1:a,1:1#]").unwrap();
        assert_eq!(v, Value::List(vec![Value::Bytes(b"a"), Value::Int(1)]));
    }

    #[test]
    fn hostile_input_is_an_error_with_an_offset() {
        for bad in [
            &b""[..],
            b"5:ab,",
            b"99999999999999999999:x,",
            b"2:ab",
            b"2:abX",
            b"x:ab,",
            b"4:1:a,}",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep: Vec<u8> = {
            let mut v = b"0:]".to_vec();
            for _ in 0..100 {
                v = [format!("{}:", v.len()).into_bytes(), v, b"]".to_vec()].concat();
            }
            v
        };
        assert_eq!(parse(&deep).unwrap_err().reason, "nested too deep");
    }
}
