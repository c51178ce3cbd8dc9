//! The committed demo capture `examples/demo.pcapng` is exactly what
//! `testkit::scenario::redmi_2014()` generates today.

const REGENERATE: &str = "run `cargo run -p testkit --example gen_demo -- examples/demo.pcapng`";

#[test]
fn committed_demo_matches_the_scenario() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo.pcapng");
    let committed = std::fs::read(path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}; {REGENERATE} (from the repo root)"));
    let generated = testkit::scenario::redmi_2014();
    assert!(generated.len() < 200 * 1024, "the demo grew to {} bytes", generated.len());
    if committed != generated {
        let at = committed.iter().zip(&generated).position(|(a, b)| a != b);
        panic!(
            "examples/demo.pcapng is out of date ({} bytes committed, {} generated, first \
             difference at byte {}): {REGENERATE} (from the repo root)",
            committed.len(),
            generated.len(),
            at.map_or_else(|| "end".to_string(), |a| a.to_string()),
        );
    }
}
