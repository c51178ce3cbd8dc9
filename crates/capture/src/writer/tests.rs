use super::*;
use crate::CaptureReader;

fn read_back(bytes: Vec<u8>) -> Vec<(Timestamp, u64, LinkType, Vec<u8>, u32)> {
    let mut r = CaptureReader::from_read(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        out.push((f.ts, f.number, f.link, f.data.to_vec(), f.orig_len));
    }
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());
    out
}

#[test]
fn frames_read_back_as_written() {
    let mut w = PcapngWriter::new(Vec::new(), "phonehome test", 65535).unwrap();
    let t = Timestamp(1_700_000_000_123_456_789);
    assert_eq!(w.write(LinkType::ETHERNET, t, b"abcde", 60).unwrap(), 1);
    assert_eq!(w.write(LinkType::RAW, Timestamp(t.0 + 1), b"\x45xyz", 4).unwrap(), 2);
    assert_eq!(w.write(LinkType::ETHERNET, Timestamp(t.0 + 2), b"", 0).unwrap(), 3);
    let stats = InterfaceStats { received: 10, dropped: 2 };
    let bytes = w.finish(Some(stats)).unwrap();
    assert_eq!(bytes.len() % 4, 0);
    let frames = read_back(bytes);
    assert_eq!(
        frames,
        vec![
            (t, 1, LinkType::ETHERNET, b"abcde".to_vec(), 60),
            (Timestamp(t.0 + 1), 2, LinkType::RAW, b"\x45xyz".to_vec(), 4),
            (Timestamp(t.0 + 2), 3, LinkType::ETHERNET, Vec::new(), 0),
        ]
    );
}

#[test]
fn oversized_frames_are_cut_to_what_readers_take() {
    let mut w = PcapngWriter::new(Vec::new(), "t", 0).unwrap();
    let big = vec![7u8; MAX_RECORD_LEN + 100];
    w.write(LinkType::ETHERNET, Timestamp(5), &big, big.len() as u32).unwrap();
    let frames = read_back(w.finish(None).unwrap());
    assert_eq!(frames[0].3.len(), MAX_RECORD_LEN);
    assert_eq!(frames[0].4 as usize, MAX_RECORD_LEN + 100);
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phonehome-writer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_session_rotates_by_size_and_keeps_a_ring_of_files() {
    let dir = temp_dir("size");
    let base = dir.join("session.pcapng");
    let rotation = Rotation { max_bytes: 1000, max_age_ns: None, max_files: 3 };
    let mut w = RotatingWriter::create(&base, "t", 0, rotation).unwrap();
    let mut placed = Vec::new();
    for i in 0..40u8 {
        placed.push(w.write(LinkType::RAW, Timestamp(i64::from(i)), &[i; 100], 100).unwrap());
    }
    let files = w.finish(Some(InterfaceStats::default())).unwrap();
    assert!(files.len() > 3, "{files:?}");
    assert_eq!(files[1].path, dir.join("session-2.pcapng"));
    // Only the last three are kept; each is under the size limit (a frame or more per file).
    let kept: Vec<&SessionFile> = files.iter().filter(|f| !f.deleted).collect();
    assert_eq!(kept.len(), 3);
    for f in &files {
        assert_eq!(f.path.exists(), !f.deleted, "{f:?}");
    }
    // Frames are numbered per file, and what was written reads back from where it was put.
    let total: u64 = files.iter().map(|f| f.frames).sum();
    assert_eq!(total, 40);
    for f in kept {
        let bytes = std::fs::read(&f.path).unwrap();
        assert!(bytes.len() as u64 <= 1000 + 200, "{}", bytes.len());
        assert_eq!(bytes.len() as u64, f.bytes);
        let frames = read_back(bytes);
        assert_eq!(frames.len() as u64, f.frames);
        let index = files.iter().position(|g| g.path == f.path).unwrap();
        for (ts, number, _, data, _) in frames {
            let i = ts.0 as usize;
            assert_eq!(placed[i].file, index);
            assert_eq!(placed[i].frame, number);
            assert_eq!(data, vec![i as u8; 100]);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&f.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
    assert!(placed.iter().filter(|p| p.new_file).count() == files.len() - 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_session_rotates_by_capture_time() {
    let dir = temp_dir("time");
    let base = dir.join("s.pcapng");
    let rotation = Rotation { max_bytes: u64::MAX, max_age_ns: Some(10), max_files: 100 };
    let mut w = RotatingWriter::create(&base, "t", 0, rotation).unwrap();
    for t in [0, 5, 9, 10, 15, 25] {
        w.write(LinkType::RAW, Timestamp(t), b"x", 1).unwrap();
    }
    let files = w.finish(None).unwrap();
    let frames: Vec<u64> = files.iter().map(|f| f.frames).collect();
    assert_eq!(frames, [3, 2, 1]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_path_fails_at_once() {
    let r =
        RotatingWriter::create(Path::new("/nonexistent-dir/x.pcapng"), "t", 0, Rotation::default());
    assert!(r.is_err());
}
