//! Content decoding: gzip / x-gzip, deflate (zlib-wrapped, or raw as browsers accept), br; stacked
//! codings undone in reverse order.
//!
//! Bounded: each stage writes at most `cap` bytes, through a fixed 32 KiB scratch buffer, and
//! stops as soon as the cap is passed, so a zip bomb costs at most `cap` bytes of output and the
//! work to produce them. The input is the raw body as kept (itself at most `cap` bytes). Brotli
//! uses the strict decoder (windows up to 16 MiB, no large-window streams); its ring buffer grows
//! with the output, so it too stays near `cap`.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Decompress, FlushDecompress, Status};

/// Size of the scratch output buffer of one decoding step.
pub(crate) const SCRATCH: usize = 32 * 1024;
/// Most codings undone on one body (identity not counted). Each stage may cost up to the output
/// cap, so a header listing thousands of codings over a nested bomb must not multiply that work;
/// real stacks have two or three (suricata-verify bug-2511 has three gzip).
const MAX_STAGES: usize = 8;
/// Most gzip members decoded in one body: every member restarts the inflater, so a body of many
/// tiny members must not cost a restart per 20 bytes. Members past the limit are left out and
/// the body is `truncated`.
const MAX_GZIP_MEMBERS: usize = 64;

/// Decoding failed: unknown coding, or corrupt data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed;

/// A decoded body.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Decoded {
    /// At most `cap` bytes.
    pub(super) data: Vec<u8>,
    /// Output was cut at `cap`.
    pub(super) capped: bool,
    /// The input ended before the compressed stream did (cut body, or a stage above was capped).
    pub(super) incomplete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

fn coding(name: &str) -> Result<Coding, Failed> {
    match name {
        "identity" => Ok(Coding::Identity),
        "gzip" | "x-gzip" => Ok(Coding::Gzip),
        "deflate" => Ok(Coding::Deflate),
        "br" => Ok(Coding::Brotli),
        // compress, zstd, sdch, aes128gcm, ...: not decoded.
        _ => Err(Failed),
    }
}

/// Undoes `codings` (in the order they were applied) on `raw`. `Ok(None)`: nothing to undo (no
/// coding besides identity, or an empty body), the raw bytes are the content.
pub(super) fn decode(
    raw: &[u8],
    codings: &[String],
    cap: usize,
) -> Result<Option<Decoded>, Failed> {
    let mut stages = Vec::with_capacity(codings.len());
    for name in codings {
        match coding(name)? {
            Coding::Identity => {}
            c => stages.push(c),
        }
    }
    if stages.is_empty() || raw.is_empty() {
        return Ok(None);
    }
    if stages.len() > MAX_STAGES {
        return Err(Failed);
    }
    let mut current: Option<Decoded> = None;
    for &stage in stages.iter().rev() {
        let input = current.as_ref().map_or(raw, |d| d.data.as_slice());
        let mut next = match stage {
            Coding::Gzip => gunzip(input, cap)?,
            Coding::Deflate => inflate_http(input, cap)?,
            Coding::Brotli => unbrotli(input, cap)?,
            Coding::Identity => continue,
        };
        if let Some(prev) = &current {
            next.capped |= prev.capped;
            // A capped stage fed the next one only part of its input.
            next.incomplete |= prev.incomplete || prev.capped;
        }
        current = Some(next);
    }
    Ok(current)
}

/// Appends `produced` to `out` up to `cap`; true if something did not fit.
fn append_capped(out: &mut Vec<u8>, produced: &[u8], cap: usize) -> bool {
    let room = cap.saturating_sub(out.len());
    out.extend_from_slice(produced.get(..room.min(produced.len())).unwrap_or_default());
    produced.len() > room
}

/// Outcome of one deflate stream.
pub(crate) struct Inflated {
    /// Input bytes the stream used (for gzip members, the trailer follows).
    consumed: usize,
    /// The stream reached its end marker.
    ended: bool,
    /// Output stopped at the cap.
    pub(crate) capped: bool,
}

/// Inflates one deflate stream (zlib-wrapped if `zlib`) from `input`, appending to `out`.
fn inflate(input: &[u8], zlib: bool, out: &mut Vec<u8>, cap: usize) -> Result<Inflated, Failed> {
    inflate_with(&mut Decompress::new(zlib), &mut vec![0u8; SCRATCH], input, out, cap)
}

/// [`inflate`] with an inflater and a scratch buffer given by the caller. The inflater may carry
/// the window of earlier input (WebSocket's context takeover): `input` is read from its start
/// whatever the inflater's running count.
pub(crate) fn inflate_with(
    d: &mut Decompress,
    scratch: &mut [u8],
    input: &[u8],
    out: &mut Vec<u8>,
    cap: usize,
) -> Result<Inflated, Failed> {
    let start = d.total_in();
    let used = |d: &Decompress| usize::try_from(d.total_in() - start).unwrap_or(usize::MAX);
    loop {
        let (in0, out0) = (d.total_in(), d.total_out());
        let pos = used(d).min(input.len());
        let rest = input.get(pos..).unwrap_or_default();
        let status = d.decompress(rest, scratch, FlushDecompress::None).map_err(|_| Failed)?;
        let produced =
            usize::try_from(d.total_out() - out0).unwrap_or(usize::MAX).min(scratch.len());
        let consumed = used(d).min(input.len());
        if append_capped(out, scratch.get(..produced).unwrap_or_default(), cap) {
            return Ok(Inflated { consumed, ended: false, capped: true });
        }
        match status {
            Status::StreamEnd => return Ok(Inflated { consumed, ended: true, capped: false }),
            // No progress possible: the input is used up before the stream's end.
            _ if produced == 0 && d.total_in() == in0 => {
                return Ok(Inflated { consumed, ended: false, capped: false });
            }
            _ => {}
        }
    }
}

/// `deflate` as browsers read it: zlib-wrapped (RFC 1950) if the first two bytes are a valid zlib
/// header and inflate that way; else raw deflate (RFC 1951), which some servers send.
fn inflate_http(input: &[u8], cap: usize) -> Result<Decoded, Failed> {
    let zlib_header = match input {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
        }
        _ => false,
    };
    if zlib_header {
        let mut out = Vec::new();
        if let Ok(r) = inflate(input, true, &mut out, cap) {
            return Ok(Decoded { data: out, capped: r.capped, incomplete: !r.ended && !r.capped });
        }
    }
    let mut out = Vec::new();
    let r = inflate(input, false, &mut out, cap)?;
    Ok(Decoded { data: out, capped: r.capped, incomplete: !r.ended && !r.capped })
}

/// Length of the gzip member header (RFC 1952) at the start of `input`: `Ok(Some(len))`,
/// `Ok(None)` if cut short, `Err` if it is not a gzip header.
fn gzip_header_len(input: &[u8]) -> Result<Option<usize>, Failed> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let Some(fixed) = input.get(..10) else {
        // Cut short: fine if what is there is a plausible start.
        let magic = [0x1f, 0x8b, 8];
        let n = input.len().min(3);
        return if input.get(..n) == magic.get(..n) { Ok(None) } else { Err(Failed) };
    };
    let &[0x1f, 0x8b, 8, flg, ..] = fixed else { return Err(Failed) };
    let mut pos = 10usize;
    if flg & FEXTRA != 0 {
        let Some(&[lo, hi]) = input.get(pos..pos + 2) else { return Ok(None) };
        pos += 2 + usize::from(u16::from_le_bytes([lo, hi]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flg & flag != 0 {
            let Some(z) = input.get(pos..).and_then(|r| memchr::memchr(0, r)) else {
                return Ok(None);
            };
            pos += z + 1;
        }
    }
    if flg & FHCRC != 0 {
        pos += 2;
    }
    Ok((pos <= input.len()).then_some(pos))
}

/// gzip / x-gzip: one or more members (concatenated members are decoded like `zcat` does, up to
/// [`MAX_GZIP_MEMBERS`]); trailing bytes that do not start another member are ignored; CRC and
/// size are not checked.
fn gunzip(input: &[u8], cap: usize) -> Result<Decoded, Failed> {
    let mut out = Vec::new();
    let mut d = Decompress::new(false);
    let mut scratch = vec![0u8; SCRATCH];
    let mut rest = input;
    for member in 0..MAX_GZIP_MEMBERS {
        let Some(header) = gzip_header_len(rest)? else {
            return Ok(Decoded { data: out, capped: false, incomplete: true });
        };
        let body = rest.get(header..).unwrap_or_default();
        if member > 0 {
            d.reset(false);
        }
        let r = inflate_with(&mut d, &mut scratch, body, &mut out, cap)?;
        if r.capped || !r.ended {
            return Ok(Decoded { data: out, capped: r.capped, incomplete: !r.capped });
        }
        // Skip the 8-byte trailer (CRC32, ISIZE); another member may follow.
        rest = body.get(r.consumed.saturating_add(8)..).unwrap_or_default();
        if !rest.starts_with(&[0x1f, 0x8b]) {
            return Ok(Decoded { data: out, capped: false, incomplete: false });
        }
    }
    Ok(Decoded { data: out, capped: false, incomplete: true })
}

/// br (RFC 7932).
fn unbrotli(input: &[u8], cap: usize) -> Result<Decoded, Failed> {
    let mut state = BrotliState::new_strict(
        StandardAlloc::default(),
        StandardAlloc::default(),
        StandardAlloc::default(),
    );
    let mut out = Vec::new();
    let mut scratch = vec![0u8; SCRATCH];
    let (mut avail_in, mut in_off, mut total) = (input.len(), 0usize, 0usize);
    loop {
        let (mut avail_out, mut out_off) = (scratch.len(), 0usize);
        let result = BrotliDecompressStream(
            &mut avail_in,
            &mut in_off,
            input,
            &mut avail_out,
            &mut out_off,
            &mut scratch,
            &mut total,
            &mut state,
        );
        let produced = out_off.min(scratch.len());
        if append_capped(&mut out, scratch.get(..produced).unwrap_or_default(), cap) {
            return Ok(Decoded { data: out, capped: true, incomplete: false });
        }
        match result {
            BrotliResult::ResultSuccess => {
                return Ok(Decoded { data: out, capped: false, incomplete: false });
            }
            BrotliResult::NeedsMoreInput => {
                return Ok(Decoded { data: out, capped: false, incomplete: true });
            }
            BrotliResult::NeedsMoreOutput if produced > 0 => {}
            BrotliResult::NeedsMoreOutput | BrotliResult::ResultFailure => return Err(Failed),
        }
    }
}
