//! Renderings of a [`report::Report`], all from the one model and its [`report::Summary`]:
//! - [`json`]: the versioned JSON document (a contract; `schema/report.schema.json` describes it),
//! - [`text`]: the terminal report (colour and width are the caller's choice: [`text::Style`]),
//! - [`markdown`]: for bug reports and articles,
//! - [`html`]: one self-contained page (no external resource, strict CSP),
//! - [`live`] and [`text::live`]: a live session's change stream (JSON lines, plain lines) and its
//!   terminal screen;
//! - [`diff`]: a before/after comparison of two reports in all of these formats;
//! - [`eve`]: the findings as Suricata EVE JSON alerts, one line each;
//! - [`fleet`]: many devices' reports as one table of devices × parties × kinds of data;
//! - `parquet` (feature `parquet`): a report's findings, destinations and captures as Parquet
//!   tables, hive-partitioned by device.
//!
//! None of them reads the clock or the environment: the same report renders to the same bytes.

pub mod diff;
pub mod eve;
pub mod fleet;
pub mod html;
mod json;
pub mod live;
pub mod markdown;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod text;

pub use json::{SCHEMA, json};

pub use report::human_bytes;
