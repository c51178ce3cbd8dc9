//! `phonehome profile check P --variants` (hidden; used by the benchmark to write Suricata rules):
//! one line per search variant, `hex<TAB>kind<TAB>item<TAB>encoding`, as many as `check` counts.

use std::path::Path;
use std::process::Command;

#[test]
fn check_variants_lists_every_variant_as_hex() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_phonehome"))
            .current_dir(&root)
            .args(["profile", "check", "examples/profile.toml"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let summary = run(&[]);
    let count: usize = summary
        .split(", ")
        .find_map(|p| p.strip_suffix(" search variants\n"))
        .and_then(|n| n.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {summary:?}"));
    let listed = run(&["--variants"]);
    let lines: Vec<Vec<&str>> = listed.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), count);
    assert!(lines.iter().all(|c| c.len() == 4 && !c[0].is_empty() && c[0].len() % 2 == 0));
    assert!(lines.iter().all(|c| c[0].bytes().all(|b| b.is_ascii_hexdigit())));
    // The demo IMEI as written, and its MD5.
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(
        lines.iter().any(|c| c[0] == hex("865123045678905") && c[1] == "imei" && c[3] == "plain")
    );
    assert!(lines.iter().any(|c| c[1] == "imei" && c[3] == "md5"));
    assert!(lines.iter().any(|c| c[1] == "contact"));
}
