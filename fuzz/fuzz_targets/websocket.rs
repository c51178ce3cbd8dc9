#![no_main]
//! Fuzz target: WebSocket frames (`proto::websocket`), fed whole and cut at a position from the
//! first two bytes; both must give the same messages. Control byte bit 0: permessage-deflate.
//! Nothing may panic, loop or keep more than `MAX_MESSAGE` bytes of a message.

use flow::{Chunk, Direction};
use proto::websocket::{MAX_MESSAGE, WsParser};
use proto::{Anomalies, Event};

fn run(data: &[u8], deflate: bool, cut: usize) -> Vec<Event> {
    let mut p = WsParser::new(deflate);
    let (mut out, mut an) = (Vec::new(), Anomalies::default());
    let cut = cut.min(data.len());
    p.data(Direction::ToServer, Chunk::Data { offset: 0, bytes: &data[..cut] }, &mut out, &mut an);
    p.data(
        Direction::ToServer,
        Chunk::Data { offset: cut as u64, bytes: &data[cut..] },
        &mut out,
        &mut an,
    );
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let Some((&c, rest)) = rest.split_first() else { return };
    let deflate = ctl & 1 == 1;
    let whole = run(rest, deflate, rest.len());
    let cut = run(rest, deflate, usize::from(c));
    assert_eq!(whole, cut, "messages depend on how the stream was cut");
    for e in &whole {
        if let Event::WebSocketMessage(m) = e {
            assert!(m.data.len() <= MAX_MESSAGE + 64 * 1024);
        }
    }
});
