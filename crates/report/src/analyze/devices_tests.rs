//! Devices: a run that knows which device each capture is of (a VPN gateway's devices fed as
//! interleaved captures, `analyze --device`) names it in every finding and destination.

use std::net::SocketAddr;

use capture::{Frame, Timestamp};
use detect::DataKind;

use super::*;

/// The frames of one HTTP request carrying an e-mail address from `client` to 192.0.2.9.
fn request(client: &str, start: i64) -> (Vec<testkit::Frame>, u32) {
    let client: SocketAddr = client.parse().unwrap();
    let server: SocketAddr = "192.0.2.9:80".parse().unwrap();
    let mut c = testkit::Conversation::tcp(client, server);
    c.handshake();
    c.client_sends(b"GET /t?mail=jane.doe@example.org HTTP/1.1\r\nHost: t.example\r\n\r\n").fin();
    let frames = c.frames().into_iter().map(|(ts, d)| (ts + start, d)).collect();
    (frames, c.link_type())
}

fn feed(p: &mut pipeline::Pipeline<Analyzer>, link: u32, frames: &[(usize, testkit::Frame)]) {
    let mut numbers = [0u64; 2];
    for (file, (ts, data)) in frames {
        numbers[*file] += 1;
        p.switch_file(*file);
        p.feed(&Frame {
            ts: Timestamp(*ts),
            number: numbers[*file],
            link: capture::LinkType(link),
            data,
            orig_len: data.len() as u32,
            offset: 0,
            secrets: &[],
            comment: None,
            custom: &[],
        });
    }
}

#[test]
fn interleaved_devices_are_told_apart() {
    let mut analyzer = Analyzer::new(VariantSet::default(), None, None, Options::default());
    for (i, name) in ["phone", "tablet"].into_iter().enumerate() {
        analyzer.set_file_name(i, format!("{name}.pcapng"));
        analyzer.set_file_device(i, Some(name.to_string()));
    }
    let (a, link) = request("10.77.0.2:40000", 0);
    let (b, _) = request("10.77.0.3:40000", 500);
    // Interleaved: every frame of one device, then one of the other.
    let mut frames: Vec<(usize, testkit::Frame)> = Vec::new();
    for (x, y) in a.into_iter().zip(b) {
        frames.push((0, x));
        frames.push((1, y));
    }
    frames.sort_by_key(|(_, f)| f.0);
    let mut p = pipeline::Pipeline::new(pipeline::Config::default(), analyzer);
    feed(&mut p, link, &frames);
    let report = p.finish().0.into_report().0;
    let mail: Vec<&Finding> =
        report.findings.iter().filter(|f| f.data == DataKind::Email).collect();
    let mut seen: Vec<(Option<&str>, &str)> =
        mail.iter().map(|f| (f.device.as_deref(), f.evidence[0].file.as_str())).collect();
    seen.sort_unstable();
    assert_eq!(seen, [(Some("phone"), "phone.pcapng"), (Some("tablet"), "tablet.pcapng")]);
    assert_eq!(
        mail[0].item_shown(),
        format!("{}: {}", mail[0].device.as_ref().unwrap(), mail[0].item)
    );
    let d = report.destinations.iter().find(|d| d.host == "t.example").unwrap();
    assert_eq!(d.devices.iter().map(String::as_str).collect::<Vec<_>>(), ["phone", "tablet"]);
}

#[test]
fn one_device_for_every_capture_and_none_by_default() {
    let (a, link) = request("10.0.0.2:40000", 0);
    let frames: Vec<(usize, testkit::Frame)> = a.into_iter().map(|f| (0, f)).collect();
    for device in [Some("pixel-7"), None] {
        let options = Options { device: device.map(str::to_string), ..Options::default() };
        let analyzer = Analyzer::new(VariantSet::default(), None, None, options);
        let mut p = pipeline::Pipeline::new(pipeline::Config::default(), analyzer);
        feed(&mut p, link, &frames);
        let report = p.finish().0.into_report().0;
        assert!(!report.findings.is_empty());
        assert!(report.findings.iter().all(|f| f.device.as_deref() == device));
        let expected: Vec<&str> = device.into_iter().collect();
        assert!(report.destinations.iter().all(|d| d.devices.iter().eq(expected.iter().copied())));
    }
}

#[test]
fn what_a_refused_connection_carried_is_stopped_not_sent() {
    let (a, link) = request("10.77.0.2:40000", 0);
    let frames: Vec<(usize, testkit::Frame)> = a.into_iter().map(|f| (0, f)).collect();
    for refuse in [true, false] {
        let analyzer = Analyzer::new(VariantSet::default(), None, None, Options::default());
        let mut p = pipeline::Pipeline::new(pipeline::Config::default(), analyzer);
        feed(&mut p, link, &frames[..1]);
        let id = p.last_flow().unwrap().info.id;
        if refuse {
            p.observer_mut().refuse_flow(id);
        }
        feed(&mut p, link, &frames[1..]);
        let report = p.finish().0.into_report().0;
        let mail = report.findings.iter().find(|f| f.data == DataKind::Email).unwrap();
        let d = report.destinations.iter().find(|d| d.host == "t.example").unwrap();
        if refuse {
            assert_eq!((mail.stopped, mail.count, d.refused), (1, 1, 1));
            assert_eq!(mail.stopped_note().as_deref(), Some("stopped by the gateway"));
        } else {
            assert_eq!((mail.stopped, d.refused), (0, 0));
            assert!(mail.stopped_note().is_none());
        }
    }
}
