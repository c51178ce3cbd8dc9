//! Writes the demo capture (`testkit::scenario::redmi_2014`), by default to `examples/demo.pcapng`.
//!
//! Usage, from the workspace root: `cargo run -p testkit --example gen_demo -- examples/demo.pcapng`

fn main() -> std::io::Result<()> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "examples/demo.pcapng".to_string());
    let bytes = testkit::scenario::redmi_2014();
    std::fs::write(&out, &bytes)?;
    eprintln!("wrote {out}: {} bytes", bytes.len());
    Ok(())
}
