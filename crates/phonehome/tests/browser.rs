//! The HTML report in a real browser: `phonehome analyze --format html` on the demo capture, opened
//! in headless Chromium through the DevTools protocol. The page must make no network request, log
//! no console error, warning, exception or CSP violation, show the key numbers of the JSON report
//! (`[data-metric]`, destination rows, capture hashes), carry a CSP meta tag, and sort its
//! destinations table when the `bytes` header is clicked. A full-page screenshot and the page are
//! kept in `target/browser-test/`. The page of `phonehome diff` is checked the same way.
//!
//! Without Chromium (`/usr/bin/chromium`, or `PHONEHOME_CHROMIUM`) the test says so and passes,
//! unless `PHONEHOME_BROWSER_TEST=require` (set by `.ci/run`) makes that a failure.

#[path = "browser/cdp.rs"]
mod cdp;
#[path = "browser/chromium.rs"]
mod chromium;
#[path = "lab/mod.rs"]
mod lab;
#[path = "browser/live.rs"]
mod live;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{env, fs};

use serde_json::{Value, json};

use cdp::{Cdp, Event};
use chromium::Chromium;

/// The bound of every wait: browser start, each protocol call, the page load.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The key numbers: `[data-metric="NAME"]` must read as the JSON value at the dotted path NAME.
const METRICS: &[&str] = &[
    "summary.verdict",
    "summary.findings",
    "summary.findings_by_severity.critical",
    "summary.findings_by_severity.high",
    "summary.cleartext_findings",
    "summary.destinations",
    "summary.destinations_with_data",
    "summary.contacts_uploaded",
    "summary.findings_leaving_country",
    "summary.bytes_sent",
];

/// Everything the checks read off the page, in one evaluation.
const READ_PAGE: &str = r#"(() => {
  const text = e => e.textContent.trim();
  const metrics = {};
  for (const e of document.querySelectorAll('[data-metric]')) {
    (metrics[e.dataset.metric] ??= []).push(text(e));
  }
  return {
    title: document.title,
    metrics,
    hosts: [...document.querySelectorAll('tr[data-host]')].map(r => r.dataset.host),
    sha256: [...document.querySelectorAll('[data-sha256]')].map(text),
    csp: [...document.querySelectorAll('meta[http-equiv]')]
      .filter(m => m.httpEquiv.toLowerCase() === 'content-security-policy')
      .map(m => m.content),
    sort_keys: [...document.querySelectorAll('table#destinations th[data-key]')].map(h => h.dataset.key),
  };
})()"#;

/// Chromium, or `None` after saying why the suite is skipped (a failure when required).
fn chromium_or_skip(suite: &str) -> Option<PathBuf> {
    let required = env::var("PHONEHOME_BROWSER_TEST").is_ok_and(|v| v == "require");
    let exe = chromium::find();
    if exe.is_none() {
        assert!(
            !required,
            "PHONEHOME_BROWSER_TEST=require, but there is no /usr/bin/chromium (install Debian's \
             chromium, or point PHONEHOME_CHROMIUM at a Chromium)"
        );
        testkit::skip::skip(suite, "no /usr/bin/chromium and no PHONEHOME_CHROMIUM");
    }
    exe
}

#[test]
fn html_report_in_headless_chromium() {
    let Some(exe) = chromium_or_skip("browser (HTML report in Chromium)") else { return };
    let started = Instant::now();
    let tmp = TempDir::new();
    let json_path = tmp.0.join("report.json");
    let html_path = tmp.0.join("report.html");
    analyze("json", &json_path);
    analyze("html", &html_path);
    let report: Value =
        serde_json::from_str(&fs::read_to_string(&json_path).expect("read JSON report"))
            .expect("the JSON report parses");
    let out_dir = target_dir().join("browser-test");
    fs::create_dir_all(&out_dir).expect("create target/browser-test");
    fs::copy(&html_path, out_dir.join("report.html")).expect("keep the HTML report");

    let (mut browser, mut cdp, page) = open_browser(&exe, &tmp.0);
    let fail = |e: String| -> ! { panic!("{e}\nChromium's stderr:\n{}", browser.stderr_text()) };
    let page = Some(page.as_str());
    // The page is laid out 1280 CSS pixels wide; the screenshot later grows the height to fit.
    cdp.call(page, "Emulation.setDeviceMetricsOverride", viewport(900)).unwrap_or_else(|e| fail(e));
    cdp.take_events(); // what about:blank did is not the report's

    let url = file_url(&html_path);
    let navigated =
        cdp.call(page, "Page.navigate", json!({ "url": url })).unwrap_or_else(|e| fail(e));
    if let Some(error) = navigated["errorText"].as_str() {
        fail(format!("navigating to {url}: {error}"));
    }
    cdp.wait_for(page, "Page.loadEventFired", TIMEOUT).unwrap_or_else(|e| fail(e));
    cdp.pump(Duration::from_millis(500)).unwrap_or_else(|e| fail(e)); // late requests or errors

    let mut failures = Vec::new();
    let shown = evaluate(&mut cdp, page, READ_PAGE).unwrap_or_else(|e| fail(e));
    check_numbers(&report, &shown, &mut failures);
    check_sorting(&mut cdp, page, &report, &shown, &mut failures).unwrap_or_else(|e| fail(e));
    cdp.pump(Duration::from_millis(200)).unwrap_or_else(|e| fail(e));
    let requests = check_events(&cdp.take_events(), &|t| t == url, &mut failures);

    let (png, height) = screenshot(&mut cdp, page).unwrap_or_else(|e| fail(e));
    let png_path = out_dir.join("report.png");
    fs::write(&png_path, png).expect("write the screenshot");

    let _ = cdp.call(None, "Browser.close", json!({}));
    let closed = browser.wait_exit(Duration::from_secs(5));
    drop(browser); // kills whatever is left of it

    eprintln!(
        "browser test: {} ({} metrics, {} destination rows, {} capture hash(es), {} request(s)); \
         screenshot {} (1280x{height}), page {}; browser {}; {:.1} s",
        shown["title"].as_str().unwrap_or("(no title)"),
        shown["metrics"].as_object().map_or(0, |m| m.len()),
        shown["hosts"].as_array().map_or(0, Vec::len),
        shown["sha256"].as_array().map_or(0, Vec::len),
        requests,
        png_path.display(),
        out_dir.join("report.html").display(),
        if closed { "closed" } else { "killed" },
        started.elapsed().as_secs_f64(),
    );
    assert!(
        failures.is_empty(),
        "the HTML report failed {} browser check(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// `phonehome diff` of the demo phone with its cloud service off and on, as HTML in Chromium:
/// no request, no console error or CSP violation, one row per change of the JSON form (same
/// kinds, same order) and the same unchanged counts.
#[test]
fn diff_page_in_headless_chromium() {
    let Some(exe) = chromium_or_skip("browser (diff page in Chromium)") else { return };
    let tmp = TempDir::new();
    let mut w = testkit::PcapNgWriter::new(Vec::new()).unwrap();
    let id = w.add_interface(testkit::Link::ethernet().link_type() as u16, 0, Some(9)).unwrap();
    w.write_frames(id, &testkit::scenario::redmi_2014_frames_with(false)).unwrap();
    fs::write(tmp.0.join("off.pcapng"), w.finish().unwrap()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let diff = |format: &str| {
        let out = tmp.0.join(format!("diff.{format}"));
        let o = Command::new(env!("CARGO_BIN_EXE_phonehome"))
            .current_dir(&root)
            .arg("diff")
            .arg(tmp.0.join("off.pcapng"))
            .args(["examples/demo.pcapng", "--profile", "examples/profile.toml", "--no-geo"])
            .args(["--format", format, "-o"])
            .arg(&out)
            .output()
            .expect("run phonehome");
        assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let doc: Value = serde_json::from_str(&fs::read_to_string(diff("json")).unwrap()).unwrap();
    let html = diff("html");
    let (shown, failures) = show_page(
        &exe,
        &tmp.0,
        &html,
        "diff",
        900,
        r#"(() => ({
          kinds: [...document.querySelectorAll('table.changes tbody tr')].map(r => r.dataset.kind),
          unchanged: [...document.querySelectorAll('[data-metric]')].map(e => [e.dataset.metric, e.textContent.trim()]),
          csp: [...document.querySelectorAll('meta[http-equiv]')].map(m => m.content),
          width: document.documentElement.scrollWidth,
        }))()"#,
    );
    let kinds: Vec<Value> =
        doc["changes"].as_array().unwrap().iter().map(|c| c["kind"].clone()).collect();
    assert!(!kinds.is_empty());
    assert_eq!(shown["kinds"], Value::Array(kinds), "one row per change, in order");
    for (metric, value) in shown["unchanged"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| Some((m[0].as_str()?, m[1].as_str()?)))
    {
        assert_eq!(as_shown(&doc["summary"][metric]), value, "{metric}");
    }
    assert!(shown["csp"][0].as_str().unwrap().starts_with("default-src 'none'"));
    assert!(shown["width"].as_u64().unwrap() <= 1280, "no horizontal scroll: {}", shown["width"]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fleet_page_in_headless_chromium() {
    let Some(exe) = chromium_or_skip("browser (fleet page in Chromium)") else { return };
    let tmp = TempDir::new();
    let lab_dir = lab::three_devices(&tmp.0, "redmi-b");
    let reports = tmp.0.join("reports");
    lab::analyze_lab(&lab_dir, &reports, "json");
    let fleet = |format: &str| {
        let out = tmp.0.join(format!("fleet.{format}"));
        let o = lab::phonehome(&[
            "fleet",
            reports.to_str().unwrap(),
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let doc: Value = serde_json::from_str(&fs::read_to_string(fleet("json")).unwrap()).unwrap();
    let html = fleet("html");
    let (shown, failures) = show_page(
        &exe,
        &tmp.0,
        &html,
        "fleet",
        1200,
        r#"(() => ({
          devices: [...document.querySelectorAll('#matrix tbody tr')].map(r => r.dataset.device),
          cells: [...document.querySelectorAll('#matrix td.cell')].map(c =>
            [c.closest('tr').dataset.device, c.dataset.party, c.className, c.getBoundingClientRect().height > 0]),
          headline: document.getElementById('headline').textContent,
          csp: [...document.querySelectorAll('meta[http-equiv]')].map(m => m.content),
        }))()"#,
    );
    let devices: Vec<Value> =
        doc["devices"].as_array().unwrap().iter().map(|d| d["device"].clone()).collect();
    assert_eq!(shown["devices"], Value::Array(devices), "one row per device, in order");
    // One visible cell per (device, party) of the JSON, coloured by its severity.
    let mut want: Vec<(String, String, String)> = doc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let f = |k: &str| c[k].as_str().unwrap().to_owned();
            (f("device"), f("party"), format!("cell sev-{}", f("severity")))
        })
        .collect();
    let mut got: Vec<(String, String, String)> = shown["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c[3], true, "a cell not shown: {c}");
            let f = |i: usize| c[i].as_str().unwrap().to_owned();
            (f(0), f(1), f(2))
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(shown["headline"], doc["headline"]);
    assert!(shown["csp"][0].as_str().unwrap().starts_with("default-src 'none'"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Opens the page `html` in Chromium (`exe`, profile in `dir`; 1280 CSS pixels wide, `height`
/// high), evaluates `script` once it has loaded, and keeps the page and its screenshot in
/// target/browser-test as `NAME.html` and `NAME.png`. Returns what `script` returned and the
/// failures of the page's events (a request, a console error, a CSP violation).
fn show_page(
    exe: &Path,
    dir: &Path,
    html: &Path,
    name: &str,
    height: u64,
    script: &str,
) -> (Value, Vec<String>) {
    let out_dir = target_dir().join("browser-test");
    fs::create_dir_all(&out_dir).expect("create target/browser-test");
    fs::copy(html, out_dir.join(format!("{name}.html"))).expect("keep the page");
    let (mut browser, mut cdp, page) = open_browser(exe, dir);
    let fail = |e: String| -> ! { panic!("{e}\nChromium's stderr:\n{}", browser.stderr_text()) };
    let page = Some(page.as_str());
    cdp.call(page, "Emulation.setDeviceMetricsOverride", viewport(height))
        .unwrap_or_else(|e| fail(e));
    cdp.take_events();
    let url = file_url(html);
    cdp.call(page, "Page.navigate", json!({ "url": url })).unwrap_or_else(|e| fail(e));
    cdp.wait_for(page, "Page.loadEventFired", TIMEOUT).unwrap_or_else(|e| fail(e));
    cdp.pump(Duration::from_millis(300)).unwrap_or_else(|e| fail(e));
    let shown = evaluate(&mut cdp, page, script).unwrap_or_else(|e| fail(e));
    let mut failures = Vec::new();
    check_events(&cdp.take_events(), &|t| t == url, &mut failures);
    let (png, _) = screenshot(&mut cdp, page).unwrap_or_else(|e| fail(e));
    fs::write(out_dir.join(format!("{name}.png")), png).expect("write the screenshot");
    let _ = cdp.call(None, "Browser.close", json!({}));
    browser.wait_exit(Duration::from_secs(5));
    drop(browser);
    (shown, failures)
}

/// Runs the built binary on the demo capture with its profile, writing `format` to `out`.
fn analyze(format: &str, out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(env!("CARGO_BIN_EXE_phonehome"))
        .current_dir(&root)
        .args([
            "analyze",
            "examples/demo.pcapng",
            "--profile",
            "examples/profile.toml",
            "--format",
            format,
            "-o",
        ])
        .arg(out)
        .output()
        .expect("run phonehome");
    // 1 means "findings", which the demo has.
    assert!(
        matches!(output.status.code(), Some(0 | 1)) && out.exists(),
        "phonehome analyze --format {format} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Chromium on a fresh profile in `dir`, its DevTools connection, and the session of its page
/// with the Network, Runtime, Log and Page domains enabled.
fn open_browser(exe: &Path, dir: &Path) -> (Chromium, Cdp, String) {
    let browser = Chromium::launch(exe, &dir.join("chromium-profile"), TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    let fail = |e: String| -> ! { panic!("{e}\nChromium's stderr:\n{}", browser.stderr_text()) };
    let mut cdp = Cdp::connect(&browser.ws_url, TIMEOUT).unwrap_or_else(|e| fail(e));
    let page = attach_to_page(&mut cdp).unwrap_or_else(|e| fail(e));
    for domain in ["Network", "Runtime", "Log", "Page"] {
        cdp.call(Some(&page), &format!("{domain}.enable"), json!({})).unwrap_or_else(|e| fail(e));
    }
    (browser, cdp, page)
}

/// Attaches (flattened, on the browser socket) to the page Chromium opened, and returns the
/// session id.
fn attach_to_page(cdp: &mut Cdp) -> Result<String, String> {
    let targets = cdp.call(None, "Target.getTargets", json!({}))?;
    let page = targets["targetInfos"]
        .as_array()
        .and_then(|infos| infos.iter().find(|t| t["type"] == "page"))
        .ok_or_else(|| format!("no page target among {targets}"))?;
    let attached = cdp.call(
        None,
        "Target.attachToTarget",
        json!({ "targetId": page["targetId"], "flatten": true }),
    )?;
    attached["sessionId"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no sessionId in {attached}"))
}

/// The value of a JavaScript expression (promises awaited), or the exception it threw.
fn evaluate(cdp: &mut Cdp, page: Option<&str>, expression: &str) -> Result<Value, String> {
    let mut result = cdp.call(
        page,
        "Runtime.evaluate",
        json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
    )?;
    if let Some(exception) = result.get("exceptionDetails") {
        return Err(format!("evaluating JavaScript: {exception}"));
    }
    Ok(result["result"]["value"].take())
}

/// The JSON value at a dotted path.
fn at<'a>(json: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(json, |v, key| &v[key])
}

/// How the page must write a JSON value: strings as they are, numbers in plain digits.
fn as_shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The key numbers, destination rows, capture hashes and the CSP meta tag.
fn check_numbers(report: &Value, shown: &Value, failures: &mut Vec<String>) {
    let parties_with_data = report["summary"]["parties"]
        .as_array()
        .map_or(0, |p| p.iter().filter(|p| p["findings"].as_u64() > Some(0)).count());
    let mut expected: Vec<(&str, String)> = METRICS
        .iter()
        .map(|path| {
            let value = at(report, path);
            assert!(!value.is_null(), "the JSON report has no {path}");
            let s = &report["summary"];
            // Unknown is not 0: with no finding's country known the card says so.
            if path.ends_with("findings_leaving_country")
                && (s["findings_country_unknown"] == s["findings"]
                    || report["device"]["country"].is_null())
            {
                return (*path, "unknown".to_string());
            }
            (*path, as_shown(value))
        })
        .collect();
    expected.push(("parties_with_data", parties_with_data.to_string()));
    for (name, want) in expected {
        // The page may name a summary number with or without its `summary.` prefix.
        let short = name.strip_prefix("summary.").unwrap_or(name);
        let Some(texts) = shown["metrics"].get(name).or_else(|| shown["metrics"].get(short)) else {
            failures
                .push(format!("no [data-metric=\"{short}\"] on the page (JSON {name} = {want})"));
            continue;
        };
        for text in texts.as_array().into_iter().flatten() {
            if text.as_str() != Some(&want) {
                failures
                    .push(format!("[data-metric=\"{short}\"] shows {text}, the JSON has {want}"));
            }
        }
    }

    let hosts = shown["hosts"].as_array().map_or(0, Vec::len);
    let destinations = report["destinations"].as_array().map_or(0, Vec::len);
    if hosts != destinations {
        failures
            .push(format!("{hosts} tr[data-host] rows, the JSON has {destinations} destinations"));
    }
    let hashes: Vec<&Value> =
        report["captures"].as_array().into_iter().flatten().map(|c| &c["sha256"]).collect();
    if shown["sha256"].as_array().map(|s| s.iter().collect::<Vec<_>>()) != Some(hashes.clone()) {
        failures.push(format!(
            "[data-sha256] reads {}, the JSON captures have {hashes:?}",
            shown["sha256"]
        ));
    }
    match shown["csp"].as_array().map(Vec::as_slice) {
        Some([csp]) if csp.as_str().is_some_and(|c| !c.trim().is_empty()) => {}
        _ => failures.push(format!(
            "want one non-empty Content-Security-Policy meta tag, found {}",
            shown["csp"]
        )),
    }
}

/// Clicks the destinations table's `bytes` header and checks the rows come out ordered by bytes
/// sent (either direction). Another header is clicked first, when there is one, so that a table
/// already in bytes order cannot pass without sorting.
fn check_sorting(
    cdp: &mut Cdp,
    page: Option<&str>,
    report: &Value,
    shown: &Value,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let keys: Vec<&str> =
        shown["sort_keys"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !keys.contains(&"bytes") {
        failures.push(format!(
            "no table#destinations th[data-key=\"bytes\"] (sortable headers: {keys:?})"
        ));
        return Ok(());
    }
    let click = |key: &str| {
        format!(
            r#"(async () => {{
  document.querySelector('table#destinations th[data-key="{key}"]').click();
  await new Promise(done => setTimeout(done, 50));
  return [...document.querySelectorAll('table#destinations tr[data-host]')].map(r => r.dataset.host);
}})()"#
        )
    };
    let before = match keys.iter().find(|&&k| k != "bytes") {
        Some(other) => evaluate(cdp, page, &click(other))?,
        None => Value::Null,
    };
    let after = evaluate(cdp, page, &click("bytes"))?;

    let bytes_of = |host: &Value| {
        report["destinations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| &d["host"] == host)
            .and_then(|d| d["bytes_sent"].as_u64())
    };
    let rows = after.as_array().cloned().unwrap_or_default();
    let bytes: Option<Vec<u64>> = rows.iter().map(bytes_of).collect();
    let Some(bytes) = bytes else {
        failures
            .push(format!("after sorting, rows {after} include a host the JSON destinations lack"));
        return Ok(());
    };
    let ascending = bytes.windows(2).all(|w| w[0] <= w[1]);
    let descending = bytes.windows(2).all(|w| w[0] >= w[1]);
    if rows.len() != report["destinations"].as_array().map_or(0, Vec::len) {
        failures.push(format!(
            "after sorting by bytes, {} rows remain of {}",
            rows.len(),
            report["destinations"].as_array().map_or(0, Vec::len)
        ));
    } else if !(ascending || descending) {
        failures.push(format!(
            "after a click on the bytes header, rows are not ordered by bytes sent: {bytes:?}"
        ));
    } else if before == after && !keys.is_empty() && bytes.first() != bytes.last() {
        eprintln!("browser test: note: the other sort key left the rows in bytes order already");
    }
    Ok(())
}

/// Fails on every network request but those `allowed` (the report's own `file://` URL; a live
/// view's own origin) (a `data:` URL is no
/// request on the network and is allowed), every WebSocket, console error or warning, uncaught
/// exception and error log entry (CSP violations); returns how many requests there were.
fn check_events(
    events: &[Event],
    allowed: &dyn Fn(&str) -> bool,
    failures: &mut Vec<String>,
) -> usize {
    let mut requests = HashMap::new(); // request id -> URL
    for Event { method, params, .. } in events {
        let p = params;
        match method.as_str() {
            "Network.requestWillBeSent" => {
                let target = p["request"]["url"].as_str().unwrap_or_default();
                requests.insert(p["requestId"].to_string(), target.to_string());
                if !allowed(target) && !target.starts_with("data:") {
                    failures.push(format!(
                        "network request: {} {target} ({})",
                        p["request"]["method"], p["type"]
                    ));
                }
            }
            "Network.webSocketCreated" => failures.push(format!("WebSocket opened: {}", p["url"])),
            "Network.loadingFailed" => failures.push(format!(
                "load failed: {} ({} {}{})",
                requests.get(&p["requestId"].to_string()).map_or("?", String::as_str),
                p["type"],
                p["errorText"],
                p.get("blockedReason").map(|r| format!(", blocked: {r}")).unwrap_or_default()
            )),
            "Runtime.consoleAPICalled"
                if matches!(p["type"].as_str(), Some("error" | "warning" | "assert")) =>
            {
                let text: Vec<String> = p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a.get("value").map_or_else(|| a["description"].to_string(), as_shown))
                    .collect();
                failures.push(format!(
                    "console.{}: {}",
                    p["type"].as_str().unwrap_or("?"),
                    text.join(" ")
                ));
            }
            "Runtime.exceptionThrown" => {
                let details = &p["exceptionDetails"];
                let mut message = details["exception"]["description"]
                    .as_str()
                    .unwrap_or(details["text"].as_str().unwrap_or("?"))
                    .to_string();
                let _ = write!(
                    message,
                    " (line {}, column {})",
                    details["lineNumber"], details["columnNumber"]
                );
                failures.push(format!("uncaught exception: {message}"));
            }
            "Log.entryAdded" if p["entry"]["level"] == "error" => {
                let e = &p["entry"];
                failures.push(format!("log error ({}): {} {}", e["source"], e["text"], e["url"]));
            }
            "Inspector.targetCrashed" => failures.push("the page crashed".to_string()),
            _ => {}
        }
    }
    requests.len()
}

/// Device metrics of a desktop window 1280 CSS pixels wide and `height` high.
fn viewport(height: u64) -> Value {
    json!({ "width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": false })
}

/// A full-page PNG, 1280 CSS pixels wide, and its height (capped at 16,000).
fn screenshot(cdp: &mut Cdp, page: Option<&str>) -> Result<(Vec<u8>, u64), String> {
    let height = evaluate(cdp, page, "Math.ceil(document.documentElement.scrollHeight)")?;
    let height = height.as_u64().unwrap_or(900).clamp(600, 16_000);
    cdp.call(page, "Emulation.setDeviceMetricsOverride", viewport(height))?;
    let shot = cdp.call(
        page,
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true }),
    )?;
    let data = shot["data"].as_str().ok_or("Page.captureScreenshot returned no data")?;
    let png = base64_decode(data).ok_or("Page.captureScreenshot returned bad base64")?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err("Page.captureScreenshot returned no PNG".to_string());
    }
    Ok((png, height))
}

/// Standard base64 (padding optional), as the protocol sends binary data.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `file://` URL of an absolute path, bytes outside the unreserved set percent-encoded.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

/// The cargo target directory: `CARGO_TARGET_DIR`, else the one holding the binary under test.
fn target_dir() -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_phonehome"));
    exe.parent().and_then(Path::parent).expect("the binary is in target/<profile>/").to_path_buf()
}

/// A fresh directory under the system temp dir, removed (with the browser profile) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = env::temp_dir().join(format!("phonehome-browser-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
