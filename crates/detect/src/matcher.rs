//! The multi-pattern matcher (being written).
