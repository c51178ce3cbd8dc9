//! Writes fuzzing seed corpora from real captures: each parser's target gets real packets and
//! stream prefixes, in the input layout its fuzz target expects (see `fuzz/fuzz_targets/*.rs`).
//!
//! Usage: `cargo run --release -p pipeline --example fuzz_seeds -- OUT_DIR CAPTURE...`
//! (`fuzz/seed.sh` runs it over `../shared/corpus/real`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use capture::CaptureReader;
use capture::link::{self, LinkOutcome};
use flow::{Chunk, Direction, FlowId};
use pipeline::{Config, Context, FlowRecord, Observer, Pipeline};
use proto::AppProto;

/// Stream bytes kept per direction of a flow.
const PREFIX: usize = 4096;
/// Datagrams kept per flow.
const DATAGRAMS: usize = 4;
/// Captures larger than this are not copied as whole-file seeds.
const MAX_FILE_SEED: u64 = 64 * 1024;

/// Per flow: the stream prefix of each direction, and the first client datagrams.
type Kept = ([Vec<u8>; 2], Vec<Vec<u8>>);

#[derive(Default)]
struct Seeds {
    streams: HashMap<FlowId, Kept>,
    out: PathBuf,
    written: usize,
}

impl Seeds {
    fn write(&mut self, target: &str, name: String, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let dir = self.out.join(target);
        let _ = fs::create_dir_all(&dir);
        if fs::write(dir.join(name), data).is_ok() {
            self.written += 1;
        }
    }
}

impl Observer for Seeds {
    fn chunk(&mut self, ctx: &Context<'_>, chunk: &Chunk<'_>) {
        let (streams, datagrams) = self.streams.entry(ctx.flow.id).or_default();
        match chunk {
            Chunk::Data { bytes, .. } => {
                let s = &mut streams[ctx.dir.index()];
                let room = PREFIX.saturating_sub(s.len());
                s.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            Chunk::Datagram(d) if datagrams.len() < DATAGRAMS && ctx.dir == Direction::ToServer => {
                datagrams.push(d.to_vec());
            }
            _ => {}
        }
    }

    fn flow_end(&mut self, record: &FlowRecord) {
        let Some(([client, server], datagrams)) = self.streams.remove(&record.info.id) else {
            return;
        };
        let tag = format!("{}-{}", record.file, record.info.id);
        match record.protocol {
            AppProto::Dns => {
                for (n, d) in datagrams.iter().enumerate() {
                    self.write("dns", format!("{tag}-{n}"), d);
                }
                if !client.is_empty() {
                    let mut seed = vec![0u8];
                    seed.extend_from_slice(&client);
                    self.write("dns", format!("{tag}-tcp"), &seed);
                }
            }
            AppProto::Tls => {
                self.write("tls", format!("{tag}-c"), &client);
                self.write("tls", format!("{tag}-s"), &server);
            }
            AppProto::Http => {
                for (side, s) in [("c", &client), ("s", &server)] {
                    let mut seed = vec![0u8, 16, 32, 64, 128];
                    seed.extend_from_slice(s);
                    self.write("http", format!("{tag}-{side}"), &seed);
                }
            }
            AppProto::Quic => {
                let mut seed = vec![0u8];
                for d in &datagrams {
                    seed.extend_from_slice(&(d.len().min(0x7fff) as u16).to_be_bytes());
                    seed.extend_from_slice(d);
                }
                self.write("quic", tag, &seed);
            }
            AppProto::Unknown | AppProto::Other => {}
        }
    }
}

/// Network-layer payloads of the first frames of a capture, in the `wire_decode` layout.
fn wire_seed(path: &Path) -> Option<Vec<u8>> {
    let mut reader = CaptureReader::open(path).ok()?;
    let mut seed = vec![0u8];
    let mut v6 = None;
    for _ in 0..64 {
        let Ok(Some(frame)) = reader.next_frame() else { break };
        if let LinkOutcome::Network(net) = link::normalize(frame.link, frame.data) {
            let is_v6 = net.ethertype == capture::link::ethertype::IPV6;
            if *v6.get_or_insert(is_v6) != is_v6 {
                continue;
            }
            let n = net.payload.len().min(0x7fff);
            seed.extend_from_slice(&(n as u16).to_be_bytes());
            seed.extend_from_slice(&net.payload[..n]);
        }
    }
    seed[0] = u8::from(v6.unwrap_or(false));
    Some(seed)
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((out, captures)) = args.split_first() else {
        eprintln!("usage: fuzz_seeds OUT_DIR CAPTURE...");
        std::process::exit(2);
    };
    let mut seeds = Seeds { out: out.clone(), ..Seeds::default() };
    for (n, path) in captures.iter().enumerate() {
        let name =
            path.file_name().map_or_else(|| format!("{n}"), |f| f.to_string_lossy().into_owned());
        if fs::metadata(path).is_ok_and(|m| m.len() <= MAX_FILE_SEED)
            && let Ok(bytes) = fs::read(path)
        {
            seeds.write("capture_reader", name.clone(), &bytes);
            seeds.write("pipeline", name.clone(), &bytes);
        }
        if let Some(w) = wire_seed(path) {
            seeds.write("wire_decode", name, &w);
        }
        let Ok(mut reader) = CaptureReader::open(path) else { continue };
        let mut p = Pipeline::new(Config::default(), seeds);
        let _ = p.run(n, &mut reader);
        seeds = p.finish().0;
    }
    eprintln!("wrote {} seed files under {}", seeds.written, out.display());
}
