//! TCP reassembly (skeleton: being implemented).
