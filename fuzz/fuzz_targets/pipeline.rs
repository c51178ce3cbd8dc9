#![no_main]
//! Fuzz target: the whole pipeline (capture reader -> decode -> flows -> parsers -> naming -> JSON
//! output) over an arbitrary input file. Nothing may panic, loop, or grow without bound.

use pipeline::{Config, Context, FlowRecord, Observer, Pipeline};

struct Render;

impl Observer for Render {
    fn event(&mut self, ctx: &Context<'_>, event: &proto::Event) {
        let _ = pipeline::output::event_json(ctx, event);
        let _ = pipeline::output::event_text(ctx, event);
    }
    fn flow_end(&mut self, record: &FlowRecord) {
        let _ = pipeline::output::flow_csv(record);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) =
        capture::CaptureReader::from_read(Box::new(std::io::Cursor::new(data.to_vec())))
    else {
        return;
    };
    let mut p = Pipeline::new(Config::default(), Render);
    let _ = p.run(0, &mut reader);
    let _ = p.finish();
});
