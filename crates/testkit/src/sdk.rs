//! The real-SDK place of the accuracy test: one request as each mobile SDK sends it, written from
//! the SDK's public documentation or open-source code (the keys and their nesting; hosts as
//! documented), all from one test phone whose advertising ID and Android ID are
//! [`GAID`] and [`ANDROID_ID`]. Cleartext HTTP/1.1 here: with TLS the same bytes come out of
//! decryption (the accuracy matrix proves that path separately).
//!
//! [`REQUESTS`] lists the SDK, its host, the request, and which identifiers it carries; the test
//! checks, with and without a device profile, that each is flagged at its host.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::app::http::HttpRequest;
use crate::{Conversation, Link, MS, PcapWriter};

/// The test phone's advertising ID.
pub const GAID: &str = "5b1e8f3a-7c2d-4e69-a0b4-9d3f6e8a1c27";
/// The test phone's Android ID.
pub const ANDROID_ID: &str = "e4a71c9b3f20d865";
/// The profile of the test phone.
pub const PROFILE_TOML: &str = r#"name = "SDK test phone"
[identifiers]
advertising_id = ["5b1e8f3a-7c2d-4e69-a0b4-9d3f6e8a1c27"]
android_id = ["e4a71c9b3f20d865"]
"#;

/// What a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carries {
    /// The advertising ID.
    Gaid,
    /// The Android ID.
    AndroidId,
    /// Both.
    Both,
}

/// One SDK request: SDK, host, method, target, content type, body, what it carries.
pub type SdkRequest =
    (&'static str, &'static str, &'static str, String, &'static str, Vec<u8>, Carries);

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// A length-delimited protobuf field (wire type 2) numbered `field`.
fn pb(field: u64, value: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    for mut n in [field << 3 | 2, value.len() as u64] {
        while n >= 0x80 {
            f.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        f.push(n as u8);
    }
    f.extend_from_slice(value);
    f
}

fn b64(data: &[u8]) -> String {
    String::from_utf8(crate::matrix::base64(data, false, true)).expect("base64 is ASCII")
}

/// Every SDK request, in a fixed order.
pub fn requests() -> Vec<SdkRequest> {
    use Carries::*;
    let (g, a) = (GAID, ANDROID_ID);
    let j = |s: String| s.into_bytes();
    vec![
        // Attribution.
        ("Adjust", "app.adjust.com", "POST", "/session".into(), FORM,
            format!("app_token=2fm9gkqubvpc&gps_adid={g}&android_uuid=0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b&created_at=2025-03-01T10%3A00%3A00.000Z%2B0100&environment=production&api_level=34").into_bytes(), Gaid),
        ("AppsFlyer", "launches.appsflyer.com", "POST", "/api/v6.13/androidevent?app_id=com.example.game&buildnumber=6.13.0".into(), JSON,
            j(format!(r#"{{"advertiserId":"{g}","advertiserIdEnabled":"true","uid":"1740822000000-8563021947261148310","deviceData":{{"arch":"","build_display_id":"UQ1A"}},"android_id":"{a}"}}"#)), Both),
        ("Singular", "sdk-api-v1.singular.net", "GET", format!("/api/v1/start?a=examplekey&p=Android&i=com.example.game&k=AIFA&u={g}&aifa={g}&andi={a}"), "", Vec::new(), Both),
        ("Branch", "api2.branch.io", "POST", "/v1/install".into(), JSON,
            j(format!(r#"{{"hardware_id":"{a}","is_hardware_id_real":true,"brand":"Google","model":"Pixel 7","advertising_ids":{{"aaid":"{g}"}},"google_advertising_id":"{g}"}}"#)), Both),
        ("Kochava", "control.kochava.com", "POST", "/track/json".into(), JSON,
            j(format!(r#"{{"action":"initial","kochava_app_id":"koexample-abc","kochava_device_id":"KA4e8b2f1c9d3a46b7a1e5c0f2","data":{{"adid":"{g}","android_id":"{a}","device":"Pixel 7-google"}}}}"#)), Both),
        // Mediation and ad networks.
        ("AppLovin", "ms.applovin.com", "POST", "/1.0/mediate".into(), JSON,
            j(format!(r#"{{"device_info":{{"ifa":"{g}","dnt":false,"brand":"google","model":"Pixel 7"}},"app_info":{{"package_name":"com.example.game"}}}}"#)), Gaid),
        ("ironSource", "init.supersonicads.com", "GET", format!("/sdk/v7.9.0?platform=android&applicationKey=85460dcd&advId={g}&advIdType=GAID&deviceOs=android"), "", Vec::new(), Gaid),
        ("Unity Ads", "auction.unityads.unity3d.com", "POST", "/v6/games/1234567/requests".into(), JSON,
            j(format!(r#"{{"advertisingTrackingId":"{g}","limitAdTracking":false,"deviceMake":"Google","deviceModel":"Pixel 7"}}"#)), Gaid),
        ("Mintegral", "configure.rayjump.com", "POST", "/setting".into(), FORM,
            format!("platform=1&os_version=14&package_name=com.example.game&gaid={g}&android_id={a}&brand=google").into_bytes(), Both),
        ("InMobi", "api.w.inmobi.com", "POST", "/showad/v3".into(), FORM,
            format!("im-plid=1234567890&u-id-map=%7B%22GPID%22%3A%22{g}%22%7D&d-device-screen-size=1080x2400").into_bytes(), Gaid),
        ("Vungle / Liftoff", "api.vungle.com", "POST", "/api/v5/new".into(), JSON,
            j(format!(r#"{{"device":{{"make":"Google","model":"Pixel 7","ifa":"{g}","ext":{{"vungle":{{"android":{{"gaid":"{g}","android_id":"{a}"}}}}}}}},"app":{{"id":"com.example.game"}}}}"#)), Both),
        ("Pangle", "api16-access-sg.pangle.io", "POST", "/api/ad/union/sdk/get_ads/".into(), JSON,
            j(format!(r#"{{"ad_sdk_version":"5.8.0","device":{{"gaid":"{g}","android_id":"{a}","os":"Android"}}}}"#)), Both),
        ("BidMachine", "api.bidmachine.io", "POST", "/auction/rtb/v3".into(), "application/x-protobuf",
            // OpenRTB as protobuf: request { device (field 5) { ifa (field 20) } }, schema-less.
            [pb(1, b"req-7731"), pb(5, &[pb(1, b"Pixel 7"), pb(20, g.as_bytes())].concat())].concat(), Gaid),
        ("Chartboost", "live.chartboost.com", "POST", "/api/install".into(), JSON,
            j(format!(r#"{{"identity":"{}","app":"5f3c2b1a","model":"Pixel 7"}}"#, b64(format!(r#"{{"gaid":"{g}"}}"#).as_bytes()))), Gaid),
        ("Meta Audience Network", "graph.facebook.com", "POST", "/network_ads_common".into(), FORM,
            format!("IDFA={g}&IDFA_FLAG=1&ATTRIBUTION_ID=&SDK_VERSION=6.16.0&PLACEMENT_ID=1234_5678").into_bytes(), Gaid),
        ("Google Mobile Ads", "googleads.g.doubleclick.net", "GET", format!("/mads/gma?format=320x50&rdid={g}&idtype=adid&is_lat=0&msid=com.example.game"), "", Vec::new(), Gaid),
        // Analytics.
        ("Firebase Analytics", "app-measurement.com", "POST", "/a".into(), "application/x-protobuf",
            // A measurement batch: bundle { ..., resettable device id as a string field }.
            pb(1, &[pb(1, b"1:1234567890:android:abc"), pb(19, g.as_bytes())].concat()), Gaid),
        ("Amplitude", "api2.amplitude.com", "POST", "/2/httpapi".into(), JSON,
            j(format!(r#"{{"api_key":"0123456789abcdef","events":[{{"device_id":"8f1d2c3b-4a5e-4f60-9b7a-1c2d3e4f5a6b","event_type":"session_start","adid":"{g}","android_id":"{a}"}}]}}"#)), Both),
        ("Mixpanel", "api.mixpanel.com", "POST", "/track".into(), FORM,
            format!("data={}", b64(format!(r#"[{{"event":"App Open","properties":{{"token":"abc","distinct_id":"{g}","$android_devices":["{a}"]}}}}]"#).as_bytes()).replace('=', "%3D").replace('+', "%2B").replace('/', "%2F")).into_bytes(), Both),
        ("GameAnalytics", "api.gameanalytics.com", "POST", "/v2/abcdef/events".into(), JSON,
            j(format!(r#"[{{"category":"user","user_id":"{g}","google_aid":"{g}","android_id":"{a}","device":"Pixel 7"}}]"#)), Both),
        // Subscriptions.
        ("RevenueCat", "api.revenuecat.com", "POST", "/v1/subscribers/%24RCAnonymousID%3A4f2b/attributes".into(), JSON,
            j(format!(r#"{{"attributes":{{"$gpsAdId":{{"value":"{g}","updated_at_ms":1740822000000}},"$androidId":{{"value":"{a}","updated_at_ms":1740822000000}}}}}}"#)), Both),
        ("Adapty", "api.adapty.io", "POST", "/api/v1/sdk/analytics/profiles/installation-metas/".into(), JSON,
            j(format!(r#"{{"data":{{"type":"adapty_analytics_profile_installation_meta","attributes":{{"device_id":"c3d4e5f6","advertising_id":"{g}","android_id":"{a}","os":"14"}}}}}}"#)), Both),
        ("Qonversion", "api.qonversion.io", "POST", "/attribution".into(), JSON,
            j(format!(r#"{{"d":{{"app_version":"1.0","device_id":"7e6d5c4b","model":"Pixel 7"}},"provider":"appsflyer","uid":"{g}"}}"#)), Gaid),
        // A phone maker's own (Xiaomi's MIUI analytics: an upload form with the device ids).
        ("Xiaomi analytics", "data.mistat.xiaomi.com", "POST", "/mistats/v3".into(), FORM,
            format!("app_id=2882303761517&device_id={a}&gaid={g}&ia={a}&miui=V14").into_bytes(), Both),
    ]
}

/// The capture: each request in its own TCP connection to its own address, in list order.
pub fn capture() -> Vec<u8> {
    let link = Link::ethernet();
    let mut frames = Vec::new();
    for (i, (_, host, method, target, ctype, body, _)) in requests().into_iter().enumerate() {
        let mut req = HttpRequest::new(method, host, &target).header("User-Agent", "okhttp/4.12.0");
        if !ctype.is_empty() {
            req = req.header("Content-Type", ctype);
        }
        if method == "POST" {
            req = req.body(body);
        }
        let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 11, 2)), 33_000 + i as u16);
        let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10 + i as u8)), 80);
        let mut c = Conversation::tcp(client, server)
            .link(link.clone())
            .start_ns(1_740_822_000_000_000_000 + i as i64 * MS);
        c.handshake();
        c.client_sends(&req.to_bytes()).fin();
        frames.extend(c.frames());
    }
    frames.sort_by_key(|(ts, _)| *ts);
    let mut w = PcapWriter::new(Vec::new(), link.link_type()).expect("writing to a Vec");
    w.write_frames(&frames).expect("writing to a Vec");
    w.finish().expect("writing to a Vec")
}
