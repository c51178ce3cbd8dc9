//! `Pipeline::last_flow`: what a gateway knows of a connection, frame by frame.

use std::net::SocketAddr;

use capture::{Frame, LinkType, Timestamp};
use pipeline::{Config, Observer, Pipeline};
use testkit::app::tls::ClientHello;

struct Nothing;
impl Observer for Nothing {}

#[test]
fn the_server_name_is_known_from_the_frame_that_completed_the_client_hello() {
    let client: SocketAddr = "10.77.0.2:40000".parse().unwrap();
    let server: SocketAddr = "203.0.113.9:443".parse().unwrap();
    let mut c = testkit::Conversation::tcp(client, server);
    c.handshake();
    // The ClientHello in two segments: no name after the first.
    let hello = ClientHello::new("tracker.example").record();
    c.client_sends_split(&hello, &[hello.len() / 2]);
    let frames = c.frames();
    let link = LinkType(c.link_type());
    let mut p = Pipeline::new(Config::default(), Nothing);
    let mut seen = Vec::new();
    for (i, (ts, data)) in frames.iter().enumerate() {
        p.feed(&Frame {
            ts: Timestamp(*ts),
            number: i as u64 + 1,
            link,
            data,
            orig_len: data.len() as u32,
            offset: 0,
            secrets: &[],
            comment: None,
            custom: &[],
        });
        let f = p.last_flow().expect("every frame is of the flow");
        assert_eq!((f.info.client, f.info.server), (client, server));
        seen.push(f.sni.map(str::to_string));
    }
    // SYN, SYN-ACK, ACK, first half: no name yet; the second half names it.
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(seen[..4].iter().all(Option::is_none), "{seen:?}");
    assert_eq!(seen[4].as_deref(), Some("tracker.example"));
    // A frame of no flow (not IP at all): nothing.
    p.feed(&Frame {
        ts: Timestamp(1),
        number: 9,
        link,
        data: &[0u8; 4],
        orig_len: 4,
        offset: 0,
        secrets: &[],
        comment: None,
        custom: &[],
    });
    assert!(p.last_flow().is_none());
}
