//! Renderings of a [`report::Report`], all from the one model and its [`report::Summary`]:
//! - [`json`]: the versioned JSON document (a contract; `schema/report.schema.json` describes it),
//! - [`text`]: the terminal report (colour and width are the caller's choice: [`text::Style`]),
//! - [`markdown`]: for bug reports and articles,
//! - [`html`]: one self-contained page (no external resource, strict CSP),
//! - [`live`] and [`text::live`]: a live session's change stream (JSON lines, plain lines) and its
//!   terminal screen.
//!
//! None of them reads the clock or the environment: the same report renders to the same bytes.

pub mod html;
mod json;
pub mod live;
pub mod markdown;
pub mod text;

pub use json::{SCHEMA, json};

/// Bytes for people: `659 B`, `10.3 KiB`, `1.2 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}
