#![no_main]
//! Fuzz target: `phonehome analyze` minus the file system. An arbitrary capture runs through the
//! pipeline with the analyzer (the demo's profile, so the matcher, field extraction and heuristics
//! all run), is attributed (entity database, no geo data), and rendered as JSON, text (colour and
//! narrow width), Markdown and HTML. Nothing may panic, loop, or grow without bound.

use std::path::Path;
use std::sync::OnceLock;

use detect::matcher::Matcher;
use detect::variants::VariantSet;

fn profile() -> &'static (VariantSet, Option<detect::profile::Location>) {
    static P: OnceLock<(VariantSet, Option<detect::profile::Location>)> = OnceLock::new();
    P.get_or_init(|| {
        let text = include_str!("../../examples/profile.toml").replace("[contacts]", "[x]");
        let text = text.replace("vcf = \"contacts.vcf\"", "").replace("[x]\n", "");
        let p = detect::profile::Profile::from_str(&text, Path::new("/nonexistent"))
            .expect("the demo profile loads");
        (detect::variants::build(&p), p.location)
    })
}

fn entities() -> &'static report::attribution::Entities {
    static E: OnceLock<report::attribution::Entities> = OnceLock::new();
    E.get_or_init(report::attribution::Entities::builtin)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) =
        capture::CaptureReader::from_read(Box::new(std::io::Cursor::new(data.to_vec())))
    else {
        return;
    };
    let (set, location) = profile();
    let matcher = Matcher::from_set(set).ok();
    let options = report::Options { files: vec!["fuzz.pcap".into()], ..Default::default() };
    let analyzer = report::Analyzer::new(set.clone(), matcher, location.clone(), options);
    let mut p = pipeline::Pipeline::new(pipeline::Config::default(), analyzer);
    let _ = p.run(0, &mut reader);
    let (mut r, _) = p.finish().0.into_report();
    r.device = Some(report::Device { country: Some("TW".into()), ..Default::default() });
    r.attribute(entities(), &report::geo::Geo::none());
    let _ = render::json(&r).to_string();
    let style = render::text::Style { color: true, width: 40 };
    let _ = render::text::text(&r, &style);
    let _ = render::markdown::markdown(&r);
    let _ = render::html::html(&r);
    // One EVE line per finding, each a JSON object.
    let eve = render::eve::eve(&r);
    assert_eq!(eve.lines().count(), r.findings.len());
    assert!(eve.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object())));
});
