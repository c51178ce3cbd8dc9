//! Device profiles (being written).
