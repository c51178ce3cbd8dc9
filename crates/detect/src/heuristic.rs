//! Profile-less detectors (being written).
