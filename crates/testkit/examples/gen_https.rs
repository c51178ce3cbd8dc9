//! Writes the HTTPS demo (`testkit::tls_session::keyed_https`: the 2014 Redmi identifiers inside
//! TLS 1.3 + HTTP/1.1, TLS 1.3 + HTTP/2 and TLS 1.2, made by rustls, plus one connection whose keys
//! are missing): `examples/https.pcap` with its key log `examples/https.keys`, and
//! `examples/https.pcapng` carrying the same keys in a Decryption Secrets Block.
//!
//! Usage, from the workspace root: `cargo run -p testkit --example gen_https -- examples`
//! (each run makes new sessions: new keys, same content).

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "examples".to_string());
    let cap = testkit::tls_session::keyed_https();
    let dir = std::path::Path::new(&dir);
    std::fs::write(dir.join("https.pcap"), cap.pcap())?;
    std::fs::write(dir.join("https.keys"), &cap.keylog)?;
    std::fs::write(dir.join("https.pcapng"), cap.pcapng_with_secrets())?;
    eprintln!("wrote {}/https.pcap, https.keys, https.pcapng", dir.display());
    Ok(())
}
