//! Writes a small capture where values of the demo profile (`examples/profile.toml`) are hard for a
//! packet-level or raw-stream scanner: split across TCP segments, in gzip bodies, both. Used by
//! `bench/analyze.sh` to compare phonehome with Suricata content rules.
//!
//! Usage: `cargo run --release -p testkit --example gen_straddle -- OUT`
//!
//! | flow | what |
//! |---|---|
//! | HTTP GET, port 80 | `imei=865123045678905`, the request cut inside the IMEI |
//! | raw TCP, port 7000 | `imsi:466920123456789`, cut inside the IMSI, one byte per segment around the cut |
//! | HTTP POST, port 80 | gzip JSON body with the phone number `+886912345678` |
//! | HTTP POST, port 80 | gzip JSON body cut into 3 segments, with the Android ID's SHA-256 |
//! | HTTP POST, port 80 | form `mac=6409803a5c7e`, segments reordered (the cut inside the MAC arrives first) |

use sha2::{Digest, Sha256};
use testkit::app::http::HttpRequest;
use testkit::{Conversation, PcapWriter};

fn main() -> std::io::Result<()> {
    let out = std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: gen_straddle OUT");
        std::process::exit(2);
    });
    let client = |p: u16| format!("10.0.0.23:{p}").parse().expect("address");
    let mut frames = Vec::new();
    let mut t = 1_407_661_200_000_000_000i64;
    let mut next = |c: &mut testkit::TcpConversation| {
        c.fin();
        frames.extend(c.frames());
    };

    // 1. IMEI in a query string, the request cut inside it.
    let req =
        HttpRequest::get("api.straddle.example", "/activate?imei=865123045678905&v=1").to_bytes();
    let at = req.windows(5).position(|w| w == b"86512").expect("imei") + 7;
    let mut c =
        Conversation::tcp(client(41001), "203.0.113.50:80".parse().expect("address")).start_ns(t);
    c.handshake().client_sends_split(&req, &[at]);
    next(&mut c);
    t += 1_000_000_000;

    // 2. Raw TCP: the IMSI cut in three, middle byte alone.
    let raw = b"HELLO dev=1 imsi:466920123456789 end\n".to_vec();
    let at = raw.windows(5).position(|w| w == b"46692").expect("imsi") + 6;
    let mut c =
        Conversation::tcp(client(41002), "203.0.113.51:7000".parse().expect("address")).start_ns(t);
    c.handshake().client_sends_split(&raw, &[at, at + 1]);
    next(&mut c);
    t += 1_000_000_000;

    // 3. Phone number in a gzip JSON body.
    let body = br#"{"user":{"phone":"+886912345678","lang":"zh_TW"}}"#.to_vec();
    let req = HttpRequest::post("api.straddle.example", "/profile", body)
        .header("Content-Type", "application/json")
        .gzip()
        .to_bytes();
    let mut c =
        Conversation::tcp(client(41003), "203.0.113.50:80".parse().expect("address")).start_ns(t);
    c.handshake().client_sends(&req);
    next(&mut c);
    t += 1_000_000_000;

    // 4. SHA-256 of the Android ID, in a gzip body cut into three segments.
    let aid: String =
        Sha256::digest(b"3f2a9c41d07b8e65").iter().map(|b| format!("{b:02x}")).collect();
    let body = format!("{{\"aid\":\"{aid}\",\"events\":[1,2,3]}}").into_bytes();
    let req = HttpRequest::post("t.straddle-ads.example", "/e", body)
        .header("Content-Type", "application/json")
        .gzip()
        .to_bytes();
    let third = req.len() / 3;
    let mut c =
        Conversation::tcp(client(41004), "198.51.100.60:80".parse().expect("address")).start_ns(t);
    c.handshake().client_sends_split(&req, &[third, 2 * third]);
    next(&mut c);
    t += 1_000_000_000;

    // 5. MAC without separators in a form, the second segment (cut inside the MAC) sent first.
    let req = HttpRequest::post(
        "t.straddle-ads.example",
        "/m",
        b"os=android&mac=6409803a5c7e&x=1".to_vec(),
    )
    .header("Content-Type", "application/x-www-form-urlencoded")
    .to_bytes();
    let at = req.windows(6).position(|w| w == b"640980").expect("mac") + 6;
    let mut c =
        Conversation::tcp(client(41005), "198.51.100.60:80".parse().expect("address")).start_ns(t);
    c.handshake().client_sends_split(&req, &[at]);
    // Segments 3 and 4 are the two halves; the auto-ack (if any) follows.
    c.swap(3, 4);
    next(&mut c);

    let mut w = PcapWriter::new(
        testkit::create_file(&out)?,
        testkit::packet::Link::ethernet().link_type(),
    )?;
    w.write_frames(&frames)?;
    w.finish()?;
    eprintln!("wrote {out}");
    Ok(())
}
