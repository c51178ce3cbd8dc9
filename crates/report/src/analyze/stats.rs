//! The detection stage's counters (`phonehome --stats`, `detect.*`).

/// Counters of the detection stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyzerStats {
    /// Fields scanned.
    pub fields: u64,
    /// Bytes scanned by the matcher (fields and raw streams).
    pub bytes_scanned: u64,
    /// Profile hits.
    pub profile_hits: u64,
    /// Heuristic hits (after dropping those a profile hit already covers).
    pub heuristic_hits: u64,
    /// Hits dropped because a flow held [`super::MAX_PENDING_PER_FLOW`].
    pub pending_capped: u64,
    /// Nested decodings stopped by the depth or size cap of field extraction.
    pub nested_capped: u64,
    /// Recurrence candidates dropped by [`crate::recurrence`]'s limits.
    pub recur_capped: u64,
    /// Bytes of unknown-protocol streams not scanned: past a first sample that looks encrypted
    /// ([`crate::protection::ENTROPY_SAMPLE`] bytes).
    pub raw_skipped: u64,
}

impl AnalyzerStats {
    /// Every counter as `(name, value)`, named `detect.counter`, in the form of
    /// [`pipeline::Stats::counters`] so both print through one function.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let Self {
            fields,
            bytes_scanned,
            profile_hits,
            heuristic_hits,
            pending_capped,
            nested_capped,
            recur_capped,
            raw_skipped,
        } = self;
        [
            ("detect.fields", fields),
            ("detect.bytes_scanned", bytes_scanned),
            ("detect.profile_hits", profile_hits),
            ("detect.heuristic_hits", heuristic_hits),
            ("detect.pending_capped", pending_capped),
            ("detect.nested_capped", nested_capped),
            ("detect.recur_capped", recur_capped),
            ("detect.raw_skipped", raw_skipped),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), **v))
        .collect()
    }
}
