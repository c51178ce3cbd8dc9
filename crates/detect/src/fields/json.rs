//! A tolerant, iterative JSON walker: reports every string and number value with its dotted path
//! of object keys (arrays add no segment). It never recurses, so nesting costs no stack, and it
//! stops quietly at the first syntax error or at the end of a truncated document (a string cut
//! short is reported with what it holds). Strings without escapes are borrowed.

use std::borrow::Cow;

use super::typed::Typer;

/// Deepest object/array nesting followed; deeper documents stop being walked (counted by the
/// caller as `json_nesting_capped`).
pub const MAX_JSON_NESTING: usize = 64;

/// Longest path segment (object key) kept in a location, in bytes; longer keys are cut.
pub const MAX_KEY_LEN: usize = 128;

/// Longest dotted path kept; keys that would make it longer are not appended.
pub const MAX_PATH_LEN: usize = 512;

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walked {
    /// Offset where the walk stopped (the document's length when it was read to its end).
    pub(crate) pos: usize,
    /// Values reported.
    pub(crate) values: usize,
    /// The nesting cap stopped the walk.
    pub(crate) capped: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value is expected (top level, after `:`, after `,` in an array).
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value inside a container: `,` or the closing bracket.
    CommaOrClose,
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// Appends a key to a path (sanitised: `:` and `>` and control characters become `_`).
pub(super) fn push_key(path: &mut String, key: &[u8]) {
    // One pass for the common key (printable ASCII, short): checked and copied together.
    let start = path.len();
    if key.len() <= MAX_KEY_LEN {
        let mut clean = true;
        for &b in key {
            if !(0x20..0x7f).contains(&b) || b == b':' || b == b'>' {
                clean = false;
                break;
            }
            path.push(char::from(b));
        }
        if clean {
            return;
        }
        path.truncate(start);
    }
    let key = String::from_utf8_lossy(key);
    let mut n = 0;
    for c in key.chars() {
        n += c.len_utf8();
        if n > MAX_KEY_LEN {
            break;
        }
        path.push(if c == ':' || c == '>' || c.is_control() { '_' } else { c });
    }
}

/// Reads the string whose opening quote is at `i - 1`. Returns its value, the offset after its
/// closing quote (the end of `s` when cut short) and whether it was closed.
fn string(s: &[u8], i: usize) -> (Cow<'_, [u8]>, usize, bool) {
    let rest = s.get(i..).unwrap_or_default();
    match memchr::memchr2(b'"', b'\\', rest) {
        Some(j) if rest[j] == b'"' => return (Cow::Borrowed(&rest[..j]), i + j + 1, true),
        None => return (Cow::Borrowed(rest), s.len(), false),
        Some(_) => {}
    }
    let mut out = Vec::with_capacity(rest.len().min(256));
    let mut k = 0;
    while k < rest.len() {
        let Some(j) = memchr::memchr2(b'"', b'\\', &rest[k..]) else {
            out.extend_from_slice(&rest[k..]);
            return (Cow::Owned(out), s.len(), false);
        };
        out.extend_from_slice(&rest[k..k + j]);
        k += j;
        if rest[k] == b'"' {
            return (Cow::Owned(out), i + k + 1, true);
        }
        let Some(&e) = rest.get(k + 1) else { break };
        k += 2;
        match e {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let Some(hi) = hex4(rest, k) else { break };
                k += 4;
                let mut cp = u32::from(hi);
                if (0xd800..0xdc00).contains(&cp)
                    && rest.get(k) == Some(&b'\\')
                    && rest.get(k + 1) == Some(&b'u')
                    && let Some(lo) = hex4(rest, k + 2).filter(|lo| (0xdc00..0xe000).contains(lo))
                {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (u32::from(lo) - 0xdc00);
                    k += 6;
                }
                let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            other => out.push(other),
        }
    }
    (Cow::Owned(out), s.len(), false)
}

fn hex4(s: &[u8], i: usize) -> Option<u16> {
    let h = s.get(i..i + 4)?;
    let t = std::str::from_utf8(h).ok()?;
    if !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(t, 16).ok()
}

/// Calls `f` with the value's path, typed (`ids.value[gaid]`) when the enclosing object named a
/// type before it ([`super::typed`]).
fn emit(
    stack: &mut [(bool, usize, Typer)],
    path: &mut String,
    v: Cow<'_, [u8]>,
    f: &mut dyn FnMut(&str, Cow<'_, [u8]>),
) {
    if let Some((true, base, typer)) = stack.last_mut() {
        let seg = path.as_bytes().get(*base + usize::from(*base > 0)..).unwrap_or_default();
        if let Some(t) = typer.see(seg, &v) {
            let l = path.len();
            path.push('[');
            path.push_str(t);
            path.push(']');
            f(path, v);
            path.truncate(l);
            return;
        }
    }
    f(path, v);
}

/// Walks `s`, calling `f(path, value)` for every string and number value.
pub(super) fn walk(s: &[u8], f: &mut dyn FnMut(&str, Cow<'_, [u8]>)) -> Walked {
    let mut path = String::new();
    // Per open container: is it an object, the path length to restore when it closes, and the
    // type its keys named so far.
    let mut stack: Vec<(bool, usize, Typer)> = Vec::new();
    let mut state = State::Value;
    let mut w = Walked { pos: 0, values: 0, capped: false };
    let mut i = 0;
    loop {
        i = skip_ws(s, i);
        w.pos = i;
        let Some(&b) = s.get(i) else { return w };
        match state {
            State::Value | State::ValueOrClose => match b {
                b']' if state == State::ValueOrClose => {
                    close(&mut stack, &mut path, &mut state);
                    i += 1;
                }
                b'{' | b'[' => {
                    if stack.len() >= MAX_JSON_NESTING {
                        w.capped = true;
                        return w;
                    }
                    stack.push((b == b'{', path.len(), Typer::default()));
                    state = if b == b'{' { State::KeyOrClose } else { State::ValueOrClose };
                    i += 1;
                }
                b'"' => {
                    let (v, next, _) = string(s, i + 1);
                    emit(&mut stack, &mut path, v, f);
                    w.values += 1;
                    i = next;
                    state = State::CommaOrClose;
                }
                b'-' | b'0'..=b'9' => {
                    let len = s[i..]
                        .iter()
                        .position(|c| !matches!(c, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
                        .unwrap_or(s.len() - i);
                    emit(&mut stack, &mut path, Cow::Borrowed(&s[i..i + len]), f);
                    w.values += 1;
                    i += len;
                    state = State::CommaOrClose;
                }
                b't' | b'f' | b'n' => {
                    i += s[i..].iter().take_while(|c| c.is_ascii_lowercase()).count();
                    state = State::CommaOrClose;
                }
                _ => return w,
            },
            State::KeyOrClose | State::Key => match b {
                b'}' if state == State::KeyOrClose => {
                    close(&mut stack, &mut path, &mut state);
                    i += 1;
                }
                b'"' => {
                    let (k, next, _) = string(s, i + 1);
                    let base = stack.last().map_or(0, |&(_, l, _)| l);
                    path.truncate(base);
                    if base + 1 + k.len().min(MAX_KEY_LEN) <= MAX_PATH_LEN {
                        if base > 0 {
                            path.push('.');
                        }
                        push_key(&mut path, &k);
                    }
                    i = next;
                    state = State::Colon;
                }
                _ => return w,
            },
            State::Colon => {
                if b != b':' {
                    return w;
                }
                i += 1;
                state = State::Value;
            }
            State::CommaOrClose => {
                let in_obj = stack.last().is_some_and(|&(o, _, _)| o);
                match b {
                    b',' => {
                        state = if in_obj { State::Key } else { State::Value };
                        i += 1;
                    }
                    b'}' if in_obj => {
                        close(&mut stack, &mut path, &mut state);
                        i += 1;
                    }
                    b']' if !in_obj => {
                        close(&mut stack, &mut path, &mut state);
                        i += 1;
                    }
                    _ => return w,
                }
            }
        }
        if stack.is_empty() && state == State::CommaOrClose {
            // One complete top-level value: done.
            w.pos = skip_ws(s, i);
            return w;
        }
    }
}

fn close(stack: &mut Vec<(bool, usize, Typer)>, path: &mut String, state: &mut State) {
    if let Some((_, l, _)) = stack.pop() {
        path.truncate(l);
    }
    *state = State::CommaOrClose;
}
