//! Where to look: field extraction (being written).
