//! Search variants of profile items (being written).

/// The encodings applied to profile items (being written).
pub const ENCODINGS: &[&str] = &[];
