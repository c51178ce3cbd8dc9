fn main() {
    let path = std::env::args().nth(1).unwrap();
    let t = std::time::Instant::now();
    let p = detect::profile::Profile::load(&path).unwrap();
    let t1 = t.elapsed();
    let set = detect::variants::build(&p);
    let t2 = t.elapsed();
    let m = detect::matcher::Matcher::from_set(&set).unwrap();
    let t3 = t.elapsed();
    let bytes: usize = set.variants.iter().map(|v| v.bytes.len()).sum();
    eprintln!(
        "load {t1:?} variants {:?} ({} variants, {bytes} bytes) matcher {:?} ({})",
        t2 - t1,
        set.variants.len(),
        t3 - t2,
        m.len()
    );
}
