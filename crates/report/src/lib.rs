//! Findings: where the device's personal data left it, per destination.
//!
//! Contract:
//! - [`Analyzer`] is a [`pipeline::Observer`]: fed one run's events, stream chunks and flow records,
//!   it looks for personal data in every place that can carry it in the clear (client-to-server by
//!   default; server-to-client with [`Options::scan_responses`]) with the profile's one matcher and
//!   the profile-less heuristics, and never in TLS or QUIC ciphertext.
//! - A hit is held with its flow until the flow ends, when the flow's destination name is known;
//!   then it is folded into a [`Finding`]: one per (data item or heuristic value, destination host,
//!   encoding, where), with a count, first and last time and up to [`MAX_EVIDENCE`] pieces of
//!   evidence (capture file, frame, flow, stream offset, field, masked value).
//! - Values are masked ([`mask`]) unless [`Options::reveal`] is set: the report is itself personal
//!   data.
//! - Memory: hits held per flow are capped ([`MAX_PENDING_PER_FLOW`]); what is dropped is counted.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod analyze;
pub mod attribution;
pub mod country;
pub mod diff;
mod finding;
pub mod fleet;
pub mod geo;
pub mod protection;
pub mod recurrence;
pub mod severity;
pub mod summary;

pub use analyze::{
    Analyzer, AnalyzerStats, MAX_APPS_PER_DESTINATION, MAX_CNAMES, MAX_DESTINATIONS, MAX_FINDINGS,
    MAX_PENDING_PER_FLOW, MAX_UPLOADS, Options, RAW_HEURISTIC_TAIL, Summarised,
};
pub use finding::{
    AddressBookUpload, CaptureInfo, Coverage, Destination, Device, Evidence, Finding, FlowRow,
    MAX_COVERAGE_HOSTS, MAX_FLOW_ROWS, MAX_REFUSED_KEPT, Party, RefusedConnection, Report, Source,
};
pub use protection::Protection;
pub use severity::Severity;
pub use summary::Summary;

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

/// Evidence kept per finding (the first ones seen).
pub const MAX_EVIDENCE: usize = 5;

/// Masks an identifier for display: the first two and last two characters stay, the others become
/// `*` (at least four); short values are masked whole.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len().max(4));
    }
    let mut s: String = chars[..2].iter().collect();
    s.extend(std::iter::repeat_n('*', chars.len() - 4));
    s.extend(&chars[chars.len() - 2..]);
    s
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn mask_keeps_only_the_ends() {
        assert_eq!(mask("865123045678905"), "86***********05");
        assert_eq!(mask("abc"), "****");
        assert_eq!(mask("+886 912"), "+8****12");
        assert_eq!(mask("張三李四王五六"), "張三***五六");
    }
}
