//! Writes the benchmark's device profile: one device with every identifier kind and an address
//! book of generated contacts (`testkit::mix::BenchProfile`), as `OUT_DIR/bench-profile.toml` and
//! `OUT_DIR/bench-contacts.vcf`.
//!
//! Usage: `cargo run --release -p testkit --example gen_profile -- OUT_DIR [CONTACTS] [SEED]`
//! (defaults: 500 contacts, seed 1; the all-HTTP capture of `gen_mix ... http` plants values of
//! the seed-1, 500-contact profile).

use testkit::mix::BenchProfile;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: gen_profile OUT_DIR [CONTACTS] [SEED]");
        std::process::exit(2);
    };
    let contacts = args.get(1).map_or(500, |s| s.parse().expect("CONTACTS"));
    let seed = args.get(2).map_or(1, |s| s.parse().expect("SEED"));
    let p = BenchProfile::new(seed, contacts);
    std::fs::create_dir_all(dir)?;
    let dir = std::path::Path::new(dir);
    std::fs::write(dir.join("bench-profile.toml"), p.toml("bench-contacts.vcf"))?;
    std::fs::write(dir.join("bench-contacts.vcf"), p.vcard())?;
    eprintln!(
        "wrote {} (+ bench-contacts.vcf, {contacts} contacts)",
        dir.join("bench-profile.toml").display()
    );
    Ok(())
}
