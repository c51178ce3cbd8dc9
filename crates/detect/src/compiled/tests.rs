use super::*;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phonehome-compiled-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const PROFILE: &str = r#"name = "test phone"
country = "TW"
manufacturer = "Xiaomi"
[identifiers]
imei = ["865123045678905"]
phone = ["0912 345 678"]
advertising_id = ["38400000-8cf0-11bd-b23e-10b96e4ef00d"]
[location]
lat = 25.0339
lon = 121.5645
radius_m = 500
[contacts]
vcf = "c.vcf"
"#;

const VCF: &str =
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alice Chen\r\nTEL:+886 987 654 321\r\nEND:VCARD\r\n";

fn write_profile(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("c.vcf"), VCF).unwrap();
    let p = dir.join("p.toml");
    std::fs::write(&p, PROFILE).unwrap();
    p
}

fn same(a: &Compiled, b: &Compiled) {
    assert_eq!((&a.name, &a.country, &a.manufacturer), (&b.name, &b.country, &b.manufacturer));
    assert_eq!(a.location, b.location);
    assert_eq!(a.warnings, b.warnings);
    assert_eq!(a.set, b.set);
    let hay = b"imei=865123045678905&tel=%2B886912345678&x=38400000-8cf0-11bd-b23e-10b96e4ef00d";
    let hits = |c: &Compiled| {
        let mut v = Vec::new();
        c.matcher.as_ref().unwrap().find(hay, |h| v.push((h.pattern, h.start, h.end)));
        v
    };
    assert!(!hits(a).is_empty());
    assert_eq!(hits(a), hits(b));
}

#[test]
fn round_trips_and_the_cache_is_used_then_invalidated() {
    let dir = tmpdir("cache");
    let path = write_profile(&dir);
    let cache = dir.join("cache");
    let (first, o1) = load(&path, Some(&cache)).unwrap();
    assert_eq!(o1, Outcome::Written);
    let (second, o2) = load(&path, Some(&cache)).unwrap();
    assert_eq!(o2, Outcome::Hit);
    same(&first, &second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache), 0o700);
        let entry = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap().path();
        assert_eq!(mode(&entry), 0o600);
    }
    // A changed vCard is another key: compiled again, with the new contact.
    std::fs::write(dir.join("c.vcf"), VCF.replace("Alice", "Bob")).unwrap();
    let (third, o3) = load(&path, Some(&cache)).unwrap();
    assert_eq!(o3, Outcome::Written);
    assert!(third.set.items.iter().any(|i| i.label.contains("Bob")));
    // No cache directory: compiled every time.
    assert_eq!(load(&path, None).unwrap().1, Outcome::Compiled);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_entry_is_ignored_and_rewritten() {
    let dir = tmpdir("damaged");
    let path = write_profile(&dir);
    let cache = dir.join("cache");
    let (good, _) = load(&path, Some(&cache)).unwrap();
    let entry = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&entry).unwrap();
    let k = key(&path).unwrap();
    // Every truncation, and a flipped byte in every region, is refused, never a panic.
    for cut in (0..bytes.len()).step_by(97) {
        assert!(Compiled::from_bytes(&bytes[..cut], &k).is_none(), "cut at {cut}");
    }
    for at in (0..bytes.len()).step_by(131) {
        let mut b = bytes.clone();
        b[at] ^= 0x5a;
        let _ = Compiled::from_bytes(&b, &k);
    }
    assert!(Compiled::from_bytes(&bytes, &[0; 32]).is_none(), "another key");
    std::fs::write(&entry, &bytes[..bytes.len() / 2]).unwrap();
    let (again, o) = load(&path, Some(&cache)).unwrap();
    assert_eq!(o, Outcome::Written);
    same(&good, &again);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_directory_keeps_at_most_max_entries() {
    let dir = tmpdir("prune");
    let cache = dir.join("cache");
    for i in 0..MAX_ENTRIES + 3 {
        let p = dir.join(format!("p{i}.toml"));
        std::fs::write(
            &p,
            format!("name = \"phone {i}\"\n[identifiers]\nimei = [\"865123045678905\"]\n"),
        )
        .unwrap();
        load(&p, Some(&cache)).unwrap();
    }
    let n = std::fs::read_dir(&cache).unwrap().count();
    assert_eq!(n, MAX_ENTRIES);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kinds_and_boundaries_index_their_tables() {
    for (i, k) in DataKind::ALL.iter().enumerate() {
        assert_eq!(*k as usize, i);
    }
    for (i, b) in Boundary::ALL.iter().enumerate() {
        assert_eq!(*b as usize, i);
    }
}
