//! Writes fuzz seeds made by a real TLS stack (rustls): `tls_decrypt` inputs (the key log, then the
//! session's flights; see `fuzz/fuzz_targets/tls_decrypt.rs`) for every suite, with HTTP/1.1 and
//! HTTP/2 inside, and `http2`, `keylog` and `protobuf` inputs. Usage: `cargo run -p testkit --example
//! fuzz_seeds_tls -- fuzz/corpus` (called by `fuzz/seed.sh`).

use testkit::Direction;
use testkit::app::h2::{self, H2Message};
use testkit::tls_session::{Resumption, TlsPair};

fn main() -> std::io::Result<()> {
    let root = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or("fuzz/corpus".into()));
    for d in ["tls_decrypt", "http2", "keylog", "protobuf", "quic_decrypt", "http3"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let req =
        b"POST /a?imei=490154203237518 HTTP/1.1\r\nHost: x.test\r\nContent-Length: 2\r\n\r\nhi";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let h2c = h2::client(&[H2Message::request(1, "GET", "x.test", "/imei/490154203237518")]);
    let h2s = h2::server(&[H2Message::response(1, 200).body("ok")]);
    let mut n = 0;
    for suite in [0x1301u16, 0x1302, 0x1303, 0xc02b, 0xc02c, 0xcca9] {
        for (alpn, c, s) in [("http/1.1", &req[..], &resp[..]), ("h2", &h2c[..], &h2s[..])] {
            let pair = TlsPair::new(suite, &[alpn], "x.test", Resumption::Tickets);
            let t = pair.session(&[(c.to_vec(), s.to_vec())], (suite >> 8 == 0x13).then_some(0));
            let keys = pair.keylog();
            let mut seed = (keys.len() as u16).to_le_bytes().to_vec();
            seed.extend_from_slice(keys.as_bytes());
            for (dir, bytes) in &t.flights {
                for part in bytes.chunks(u16::MAX as usize) {
                    seed.push(u8::from(*dir == Direction::ServerToClient));
                    seed.extend_from_slice(&(part.len() as u16).to_le_bytes());
                    seed.extend_from_slice(part);
                }
            }
            let alpn = alpn.replace('/', "");
            std::fs::write(root.join(format!("tls_decrypt/rustls-{suite:04x}-{alpn}")), &seed)?;
            std::fs::write(root.join(format!("keylog/rustls-{suite:04x}-{alpn}")), keys)?;
            n += 1;
        }
    }
    std::fs::write(root.join("http2/client"), [&[0u8][..], &h2c[h2::PREFACE.len()..]].concat())?;
    std::fs::write(root.join("http2/server"), [&[1u8][..], &h2s[..]].concat())?;
    // protobuf: message { 1: "com.example", 2: { 1: "490154203237518", 3: 42 } }, plain and as
    // one gRPC frame.
    let msg = b"\x0a\x0bcom.example\x12\x13\x0a\x0f490154203237518\x18\x2a";
    std::fs::write(root.join("protobuf/message"), [&[0u8][..], msg].concat())?;
    let frame = [&[0u8, 0, 0, 0, msg.len() as u8][..], msg].concat();
    std::fs::write(root.join("protobuf/grpc"), [&[1u8][..], &frame].concat())?;
    // quic_decrypt: testkit's QUIC connections with their key logs: HTTP/3 without and with
    // Handshake packets, and a raw protocol chosen in the server's EncryptedExtensions.
    for seed in 0..4u8 {
        let req = testkit::app::h3::request("POST", "x.test", "/imei/490154203237518", &[], b"{}");
        let alpn = [None, Some("h3"), None, Some("vpush")][usize::from(seed)];
        let opts = testkit::app::h3::QuicOptions {
            key_update: seed % 2 == 0,
            seed,
            offer: &["h3", "vpush"],
            handshake_alpn: alpn,
            ..Default::default()
        };
        let q = testkit::app::h3::connection_with("x.test", &[req.clone(), req], &opts);
        let mut input = (q.keylog.len() as u16).to_le_bytes().to_vec();
        input.extend_from_slice(q.keylog.as_bytes());
        for (client, d) in &q.datagrams {
            input.push(u8::from(!*client));
            input.extend_from_slice(&(d.len() as u16).to_le_bytes());
            input.extend_from_slice(d);
        }
        std::fs::write(root.join(format!("quic_decrypt/h3-{seed}")), input)?;
    }
    // http3: a request stream (control byte: client, stream 0, ends).
    let req =
        testkit::app::h3::request("GET", "x.test", "/", &[("x-imei", "490154203237518")], b"");
    let mut h3seed = vec![0x10];
    h3seed.extend_from_slice(&(req.len() as u16).to_le_bytes());
    h3seed.extend_from_slice(&req);
    std::fs::write(root.join("http3/request"), h3seed)?;
    eprintln!("wrote {n} tls_decrypt seeds, 2 http2, 2 protobuf, 4 quic_decrypt, 1 http3 seeds");
    Ok(())
}
