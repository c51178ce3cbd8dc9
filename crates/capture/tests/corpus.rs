//! Conformance over the real-capture corpus in `shared/corpus/real` (next to the repository): every
//! pcap/pcapng capture in `INVENTORY.tsv` must read without error and give exactly the packet
//! count capinfos gave, and every pcapng-test-generator file must match its block counts. Skipped,
//! with a message, when the corpus is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use capture::{CaptureError, CaptureReader, ReaderStats, Warning};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/real");

/// Captures allowed to differ from the inventory, each with the reason.
const EXCEPTIONS: &[(&str, &str)] = &[(
    "nDPI/fuzz-2021-10-13.pcap",
    "fuzzer output: the only record of this 239-byte file claims 524501 captured bytes, over \
     MAX_RECORD_LEN, so it is Corrupt here; tshark reports the file cut short, capinfos counts 1",
)];

struct Read {
    frames: u64,
    stats: ReaderStats,
    warnings: Vec<Warning>,
    error: Option<CaptureError>,
}

fn read_capture(path: &Path) -> Read {
    let mut r = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            return Read {
                frames: 0,
                stats: ReaderStats::default(),
                warnings: Vec::new(),
                error: Some(e),
            };
        }
    };
    let mut frames = 0;
    let mut error = None;
    loop {
        match r.next_frame() {
            Ok(Some(f)) => {
                assert_eq!(f.number, frames + 1, "{}: frame numbers run 1, 2, ...", path.display());
                frames += 1;
                // Normalisation must not panic on real frames either.
                let _ = capture::link::normalize(f.link, f.data);
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    Read { frames, stats: r.stats().clone(), warnings: r.warnings().to_vec(), error }
}

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(CORPUS);
    if dir.join("INVENTORY.tsv").is_file() {
        Some(dir)
    } else {
        testkit::skip::skip("capture corpus", &format!("no corpus at {CORPUS}"));
        None
    }
}

#[test]
fn inventory_packet_counts() {
    let Some(dir) = corpus() else { return };
    let inventory = std::fs::read_to_string(dir.join("INVENTORY.tsv")).unwrap();
    let mut header = None;
    let (mut total, mut matched) = (0, 0);
    let mut mismatches = Vec::new();
    let mut excepted = Vec::new();
    for line in inventory.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(h) = &header else {
            header = Some(cols.clone());
            assert_eq!(cols[..4], ["capture", "file_type", "encapsulation", "packets"]);
            continue;
        };
        assert_eq!(cols.len(), h.len(), "{line}");
        let (name, file_type, packets) = (cols[0], cols[1], cols[3]);
        let path = dir.join(name);
        if !matches!(file_type, "pcap" | "nsecpcap" | "pcapng") {
            // Not a capture for capinfos: print what we make of it, assert only "no panic".
            let r = read_capture(&path);
            println!(
                "  ({file_type}) {name}: {} frames, error {:?}, {} warnings",
                r.frames,
                r.error.as_ref().map(ToString::to_string),
                r.warnings.len()
            );
            continue;
        }
        total += 1;
        let want: u64 = packets.parse().unwrap_or_else(|_| panic!("{name}: packets {packets:?}"));
        let r = read_capture(&path);
        for w in &r.warnings {
            println!("  warning {name} @{}: {}", w.offset, w.message);
        }
        let problem = match &r.error {
            Some(e) => Some(format!("error after {} frames: {e}", r.frames)),
            None if r.frames != want => Some(format!("{} frames, inventory says {want}", r.frames)),
            None => None,
        };
        match problem {
            None => matched += 1,
            Some(p) => match EXCEPTIONS.iter().find(|(n, _)| *n == name) {
                Some((_, why)) => excepted.push(format!("{name}: {p} (expected: {why})")),
                None => mismatches.push(format!("{name}: {p}")),
            },
        }
    }
    println!("{matched}/{total} captures match the inventory packet count");
    for m in &excepted {
        println!("  exception {m}");
    }
    for m in &mismatches {
        println!("  MISMATCH {m}");
    }
    assert!(total > 0, "no pcap/pcapng rows in the inventory");
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// Block counts from a pcapng-test-generator description (`Block counts:` then `\tEPB: 4` lines).
fn block_counts(txt: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut inside = false;
    for line in txt.lines() {
        if line.starts_with("Block counts:") {
            inside = true;
        } else if inside && line.starts_with('\t') {
            let (k, v) = line.trim().split_once(':').expect("`NAME: count`");
            counts.insert(k.trim().to_string(), v.trim().parse().expect("count"));
        } else if inside && !line.trim().is_empty() {
            inside = false;
        }
    }
    counts
}

#[test]
fn pcapng_test_generator_block_counts() {
    let Some(dir) = corpus() else { return };
    let dir = dir.join("pcapng-test-generator");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for pcapng in &files {
        let name = pcapng.file_name().unwrap().to_string_lossy().into_owned();
        let txt = std::fs::read_to_string(pcapng.with_extension("txt")).unwrap();
        let counts = block_counts(&txt);
        let n = |k: &str| counts.get(k).copied().unwrap_or(0);
        let packets = n("EPB") + n("SPB") + n("PB");
        let total: u64 = counts.values().sum();
        // Custom blocks (CB, and DCB: do not copy) are kept for the next frame, not skipped.
        let skipped = total - n("SHB") - n("IDB") - packets - n("CB") - n("DCB");
        let r = read_capture(pcapng);
        if r.error.is_some() || r.frames != packets || r.stats.skipped_blocks != skipped {
            failures.push(format!(
                "{name}: {} frames, {} skipped, error {:?}; description says {packets} packets, \
                 {skipped} other blocks",
                r.frames,
                r.stats.skipped_blocks,
                r.error.map(|e| e.to_string())
            ));
        }
        if !r.warnings.is_empty() {
            failures.push(format!("{name}: warnings {:?}", r.warnings));
        }
    }
    println!("{}/{} pcapng-test-generator files match", files.len() - failures.len(), files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
