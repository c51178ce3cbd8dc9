//! Payloads of the all-cleartext-HTTP benchmark ([`super::MixMode::Http`]): app and tracker
//! requests (analytics query strings, JSON event batches, some gzip-encoded, forms, API calls
//! with cookies and bearer tokens) and responses (JSON gzip or chunked, HTML, JavaScript, images,
//! 204), plus a few requests carrying values of [`BenchProfile::new(1, 500)`](BenchProfile) in
//! several encodings.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::BenchProfile;
use crate::app::http::{HttpRequest, HttpResponse};
use crate::rng::Rng;

const UA: &[&str] = &[
    "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230805.001)",
    "Dalvik/2.1.0 (Linux; U; Android 12; SM-G991B Build/SP1A.210812.016)",
    "okhttp/4.11.0",
    "Mozilla/5.0 (Linux; Android 13; 2201116SG) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
    "com.example.weather/5.12.3 (Android 11; Redmi Note 10)",
];
const EVENTS: &[&str] = &[
    "screen_view",
    "app_open",
    "session_start",
    "button_click",
    "purchase_intent",
    "ad_impression",
    "scroll_depth",
    "search",
    "notification_open",
    "video_progress",
];
const WORDS: &[&str] = &[
    "weather", "forecast", "taipei", "rain", "sunny", "news", "sports", "market", "update",
    "promo", "coupon", "delivery", "order", "status", "profile", "settings", "theme", "dark",
    "light", "banner", "article", "comment", "like", "share", "video", "music", "playlist",
];

fn hexs(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize])).collect()
}

fn b64ish(rng: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..n).map(|_| char::from(A[rng.below(64) as usize])).collect()
}

fn uuid(rng: &mut Rng) -> String {
    let h = hexs(rng, 32);
    format!("{}-{}-4{}-8{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..])
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    let v: Vec<&str> = (0..words).map(|_| *rng.pick(WORDS)).collect();
    v.join(" ")
}

fn headers(r: HttpRequest, rng: &mut Rng) -> HttpRequest {
    let r = r
        .header("User-Agent", UA[rng.below(UA.len() as u64) as usize])
        .header("Accept", "application/json, text/plain, */*")
        .header("Accept-Encoding", "gzip")
        .header("Accept-Language", "zh-TW,zh;q=0.9,en;q=0.8");
    if rng.chance(1, 2) {
        let ga = format!(
            "GA1.2.{}.{}",
            rng.range(100_000_000, 999_999_999),
            1_700_000_000 + rng.below(9_999_999)
        );
        r.header("Cookie", &format!("sid={}; _ga={ga}; theme=dark; consent=1", hexs(rng, 32)))
    } else {
        r.header(
            "Authorization",
            &format!("Bearer {}.{}.{}", b64ish(rng, 36), b64ish(rng, 120), b64ish(rng, 43)),
        )
    }
}

fn analytics_query(rng: &mut Rng) -> String {
    let mut q = format!(
        "event={}&ts={}&session={}&app=com.example.app&ver=5.12.{}&os=android&osv=13&model=Pixel%207&lang=zh-TW&tz=Asia%2FTaipei&screen=1080x2400&net=wifi&seq={}",
        rng.pick(EVENTS),
        1_715_000_000_000u64 + rng.below(1_000_000_000),
        hexs(rng, 32),
        rng.below(20),
        rng.below(5000),
    );
    for _ in 0..rng.range_usize(2, 10) {
        let _ = write!(q, "&cd{}={}", rng.below(50), rng.pick(WORDS));
    }
    q
}

fn events_json(rng: &mut Rng, n: usize) -> String {
    let mut s = String::from("{\"batch\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"name\":\"{}\",\"ts\":{},\"seq\":{},\"props\":{{\"screen\":\"{}\",\"duration_ms\":{},\"label\":\"{}\",\"value\":{}.{:02},\"ab\":[\"{}\",\"{}\"]}}}}",
            rng.pick(EVENTS),
            1_715_000_000_000u64 + rng.below(1_000_000_000),
            i,
            rng.pick(WORDS),
            rng.below(60_000),
            sentence(rng, 3),
            rng.below(500),
            rng.below(100),
            rng.pick(WORDS),
            rng.pick(WORDS),
        );
    }
    let _ = write!(
        s,
        "],\"context\":{{\"app\":{{\"name\":\"Example\",\"version\":\"5.12.3\",\"build\":\"51203\"}},\"os\":{{\"name\":\"Android\",\"version\":\"13\"}},\"device\":{{\"model\":\"Pixel 7\",\"manufacturer\":\"Google\"}},\"locale\":\"zh_TW\",\"timezone\":\"Asia/Taipei\",\"network\":{{\"wifi\":true,\"carrier\":\"Chunghwa Telecom\"}},\"install_id\":\"{}\"}},\"sent_at\":\"2024-05-06T12:{:02}:{:02}.123Z\"}}",
        uuid(rng),
        rng.below(60),
        rng.below(60)
    );
    s
}

fn feed_json(rng: &mut Rng, n: usize) -> String {
    let mut s = String::from("{\"ok\":true,\"items\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"id\":{},\"title\":\"{}\",\"summary\":\"{}\",\"image\":\"https://images.example-cdn.net/{}.jpg\",\"score\":{}.{},\"tags\":[\"{}\",\"{}\"]}}",
            rng.range(1_000_000, 9_999_999),
            sentence(rng, 5),
            sentence(rng, 25),
            hexs(rng, 20),
            rng.below(100),
            rng.below(10),
            rng.pick(WORDS),
            rng.pick(WORDS)
        );
    }
    s.push_str("],\"next\":\"");
    s.push_str(&b64ish(rng, 40));
    s.push_str("\"}");
    s
}

/// The generated requests and responses.
pub(super) struct HttpAssets {
    pub reqs: Vec<Vec<u8>>,
    pub resps: Vec<Vec<u8>>,
    /// Requests that carry profile values.
    pub planted: Vec<Vec<u8>>,
}

impl HttpAssets {
    pub(super) fn new(rng: &mut Rng, hosts: &[&str]) -> Self {
        let mut reqs = Vec::new();
        for k in 0..240 {
            let host = hosts[k % hosts.len()];
            let r = match k % 6 {
                0 | 1 => headers(
                    HttpRequest::get(host, &format!("/v1/track?{}", analytics_query(rng))),
                    rng,
                ),
                2 => {
                    let body = {
                        let n = rng.range_usize(3, 25);
                        events_json(rng, n)
                    }
                    .into_bytes();
                    headers(HttpRequest::post(host, "/v2/batch", body), rng)
                        .header("Content-Type", "application/json; charset=utf-8")
                }
                3 => {
                    let body = {
                        let n = rng.range_usize(10, 60);
                        events_json(rng, n)
                    }
                    .into_bytes();
                    headers(HttpRequest::post(host, "/v2/batch", body), rng)
                        .header("Content-Type", "application/json")
                        .gzip()
                }
                4 => {
                    let body = format!(
                        "client_id={}&grant_type=refresh_token&refresh_token={}&scope=feed+profile+sync&sdk_version=21.4.0&locale=zh_TW&nonce={}",
                        hexs(rng, 24),
                        b64ish(rng, 96),
                        rng.next_u64()
                    );
                    headers(HttpRequest::post(host, "/oauth/token", body.into_bytes()), rng)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                }
                _ => headers(
                    HttpRequest::get(
                        host,
                        &format!(
                            "/api/v2/feed?page={}&limit=20&cursor={}",
                            rng.below(50),
                            b64ish(rng, 40)
                        ),
                    ),
                    rng,
                ),
            };
            reqs.push(r.to_bytes());
        }
        let mut resps = Vec::new();
        for k in 0..48 {
            let r = match k % 8 {
                0 | 1 => HttpResponse::ok(
                    "application/json; charset=utf-8",
                    {
                        let n = rng.range_usize(10, 60);
                        feed_json(rng, n)
                    }
                    .into_bytes(),
                )
                .gzip(),
                2 => HttpResponse::ok(
                    "application/json",
                    {
                        let n = rng.range_usize(5, 30);
                        feed_json(rng, n)
                    }
                    .into_bytes(),
                )
                .chunked(8192),
                3 => {
                    let mut html = String::from(
                        "<!doctype html><html><head><title>Example</title></head><body>",
                    );
                    for _ in 0..rng.range_usize(50, 400) {
                        let _ = write!(
                            html,
                            "<p class=\"{}\">{}</p>",
                            rng.pick(WORDS),
                            sentence(rng, 20)
                        );
                    }
                    html.push_str("</body></html>");
                    HttpResponse::ok("text/html; charset=utf-8", html.into_bytes()).gzip()
                }
                4 => {
                    let mut js = String::new();
                    for i in 0..rng.range_usize(200, 1500) {
                        let _ = writeln!(
                            js,
                            "function f{i}(a,b){{return a.{}(b)+\"{}\";}}",
                            rng.pick(WORDS),
                            sentence(rng, 4)
                        );
                    }
                    HttpResponse::ok("application/javascript", js.into_bytes()).gzip()
                }
                5 | 6 => {
                    let n = rng.range_usize(8_000, 90_000);
                    HttpResponse::ok("image/jpeg", rng.bytes(n))
                }
                _ => HttpResponse::no_content(),
            };
            resps.push(r.to_bytes());
        }
        Self { reqs, resps, planted: planted(&BenchProfile::new(1, 500), rng) }
    }
}

fn url(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

fn compact(phone: &str) -> String {
    phone.chars().filter(|c| *c == '+' || c.is_ascii_digit()).collect()
}

/// Requests carrying values of `p`: IMEI, IMSI, ICCID in a query; the phone number, the MAC
/// without separators and the serial in a form; SHA-256 of the Android ID, the advertising ID and
/// the URL-encoded e-mail in a query; an address-book upload (30 contacts) as gzip JSON.
fn planted(p: &BenchProfile, rng: &mut Rng) -> Vec<Vec<u8>> {
    let host = "api.account.example-os.net";
    let mut out = Vec::new();
    out.push(
        headers(
            HttpRequest::get(
                host,
                &format!("/activate?imei={}&imsi={}&iccid={}&v=2", p.imei, p.imsi, p.iccid),
            ),
            rng,
        )
        .to_bytes(),
    );
    let form = format!(
        "phone={}&mac={}&serial={}&lang=zh_TW",
        url(&compact(&p.phone)),
        p.mac.replace(':', ""),
        p.serial
    );
    out.push(
        headers(HttpRequest::post(host, "/register", form.into_bytes()), rng)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .to_bytes(),
    );
    let aid: String =
        Sha256::digest(p.android_id.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    out.push(
        headers(
            HttpRequest::get(
                "t.tracker.example-ads.net",
                &format!(
                    "/collect?aid={aid}&gaid={}&email={}&{}",
                    p.advertising_id,
                    url(&p.email),
                    analytics_query(rng)
                ),
            ),
            rng,
        )
        .to_bytes(),
    );
    for chunk in p.contacts.chunks(30).take(4) {
        let mut j = String::from("{\"contacts\":[");
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                j.push(',');
            }
            let phones: Vec<String> =
                c.phones.iter().map(|x| format!("\"{}\"", compact(x))).collect();
            let _ = write!(j, "{{\"n\":\"{}\",\"p\":[{}]}}", c.name, phones.join(","));
        }
        j.push_str("]}");
        out.push(
            headers(
                HttpRequest::post("api.micloud.example-os.net", "/contacts/sync", j.into_bytes()),
                rng,
            )
            .header("Content-Type", "application/json")
            .gzip()
            .to_bytes(),
        );
    }
    out
}
