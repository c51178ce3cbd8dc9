//! What the fleet-scale tests (`batch.rs`, `fleet.rs`, `parquet.rs`) share: a scratch folder
//! removed at the end, the binary run with a cache of the test's own, and a lab of three
//! devices labelled by a manifest.
#![allow(dead_code)] // each test binary uses its part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch folder under the target directory, removed when dropped.
pub(crate) struct Dir(pub(crate) PathBuf);

impl Dir {
    /// A fresh, empty `batch-NAME` folder.
    pub(crate) fn new(name: &str) -> Self {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lab-{name}"));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The repository.
pub(crate) fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs the binary with `args` (its compiled-profile cache in the target directory).
pub(crate) fn phonehome(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .args(args)
        .env("PHONEHOME_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-cache"))
        .output()
        .expect("run phonehome")
}

/// `d/lab`: two Redmis in cleartext (the demo capture) and a phone sending over TLS and QUIC
/// (opened with the keys inside its pcapng), labelled by a manifest: `redmi-a` (Redmi 1S,
/// MIUI V5), `second` (Redmi 1S, MIUI V5.7), `mi-c` (Mi 4, MIUI 9).
pub(crate) fn three_devices(d: &Path, second: &str) -> PathBuf {
    let lab = d.join("lab");
    std::fs::create_dir_all(&lab).unwrap();
    let examples = root().join("examples");
    std::fs::copy(examples.join("demo.pcapng"), lab.join("redmi-a.pcapng")).unwrap();
    std::fs::copy(examples.join("demo.pcapng"), lab.join("redmi-b.pcapng")).unwrap();
    std::fs::copy(examples.join("https.pcapng"), lab.join("mi-c.pcapng")).unwrap();
    std::fs::write(
        lab.join("manifest.csv"),
        format!(
            "capture,device,model,firmware\nredmi-a.pcapng,redmi-a,Redmi 1S,MIUI V5\n\
             redmi-b.pcapng,{second},Redmi 1S,MIUI V5.7\nmi-c.pcapng,mi-c,Mi 4,MIUI 9\n"
        ),
    )
    .unwrap();
    lab
}

/// `analyze LAB --out OUT --format FORMAT --profile examples/profile.toml --jobs 2`, which finds
/// personal data (exit code 1).
pub(crate) fn analyze_lab(lab: &Path, out: &Path, format: &str) {
    let profile = root().join("examples/profile.toml");
    let o = phonehome(&[
        "analyze",
        lab.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        format,
        "--profile",
        profile.to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
}
