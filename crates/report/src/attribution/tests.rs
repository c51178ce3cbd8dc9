use std::collections::HashSet;
use std::path::Path;

use super::*;

fn db() -> Entities {
    Entities::builtin()
}

#[track_caller]
fn expect(e: &Entities, host: &str, name: &str, category: Category, country: &str) {
    let got = e.attribute(host).unwrap_or_else(|| panic!("{host}: not attributed"));
    assert_eq!(
        (got.name.as_str(), got.category, got.country.as_deref().unwrap_or("-")),
        (name, category, country),
        "{host}"
    );
}

#[test]
fn builtin_loads_with_enough_valid_organisations() {
    let e = Entities::curated_only();
    assert!(e.len() >= 300, "{} organisations", e.len());
    let mut names = HashSet::new();
    for ent in e.iter() {
        assert!(names.insert(ent.name.to_lowercase()), "duplicate name {}", ent.name);
        assert!(ent.country.as_deref().is_some_and(is_country), "{}: {:?}", ent.name, ent.country);
        assert_eq!(ent.source, Source::Curated);
        assert!(Category::ALL.contains(&ent.category));
    }
    // Every category is used.
    for c in Category::ALL {
        assert!(e.iter().any(|x| x.category == c), "no {c} entity");
    }
    // Every organisation has at least one domain of its own.
    let owners: HashSet<&str> = e.domains().map(|(_, ent)| ent.name.as_str()).collect();
    assert_eq!(owners.len(), e.len());
}

#[test]
fn builtin_domains_are_unique_and_normalised() {
    // A domain listed twice in one file is a load error; here check the text itself too, and that a
    // name listed inside another organisation's domain is a deliberate, more specific entry.
    let raw: RawFile = toml::from_str(BUILTIN).unwrap();
    let mut seen = HashSet::new();
    for r in &raw.entity {
        for d in &r.domains {
            let d = d.get_ref();
            assert_eq!(d, &normalize(d), "{d} not normalised");
            assert!(seen.insert(d.clone()), "{d} listed twice");
            assert!(check_domain(d).is_ok(), "{d}");
        }
    }
}

#[test]
fn phone_makers() {
    let e = db();
    use Category::*;
    expect(&e, "api.account.xiaomi.com", "Xiaomi", Manufacturer, "CN");
    expect(&e, "data.mistat.xiaomi.com", "Xiaomi", Manufacturer, "CN");
    expect(&e, "tracking.miui.com", "Xiaomi", Manufacturer, "CN");
    expect(&e, "api.ad.xiaomi.com", "Xiaomi (ads)", Advertising, "CN");
    expect(&e, "metrics1.data.hicloud.com", "Huawei", Manufacturer, "CN");
    expect(&e, "www.hihonor.com", "Honor", Manufacturer, "CN");
    expect(&e, "dms.samsungdm.com", "Samsung", Manufacturer, "KR");
    expect(&e, "config.samsungads.com", "Samsung Ads", Advertising, "KR");
    expect(&e, "adx.ads.heytapmobi.com", "OPPO (HeyTap, ColorOS)", Manufacturer, "CN");
    expect(&e, "www.realme.com", "Realme", Manufacturer, "CN");
    expect(&e, "oneplus.net", "OnePlus", Manufacturer, "CN");
    expect(&e, "stsdk.vivoglobal.com", "vivo", Manufacturer, "CN");
    expect(&e, "x.shalltry.com", "Transsion (Tecno, Infinix, itel)", Manufacturer, "CN");
    expect(&e, "www.motorola.com", "Motorola", Manufacturer, "US");
    expect(&e, "www.lenovo.com.cn", "Lenovo", Manufacturer, "CN");
    expect(&e, "hmdglobal.com", "HMD Global", Manufacturer, "FI");
    expect(&e, "x.sonymobile.com", "Sony", Manufacturer, "JP");
    expect(&e, "lgtvsdp.com", "LG Electronics", Manufacturer, "KR");
    expect(&e, "www.zte.com.cn", "ZTE (nubia)", Manufacturer, "CN");
    expect(&e, "tcl.com", "TCL (Alcatel)", Manufacturer, "CN");
    expect(&e, "dlcdnets.asus.com", "Asus", Manufacturer, "TW");
    expect(&e, "api.meizu.com", "Meizu", Manufacturer, "CN");
    expect(&e, "xtrapath1.izatcloud.net", "Qualcomm", Manufacturer, "US");
}

#[test]
fn os_vendors_and_platforms() {
    let e = db();
    use Category::*;
    expect(&e, "android.clients.google.com", "Google", OsVendor, "US");
    expect(&e, "www.googleapis.com", "Google", OsVendor, "US");
    expect(&e, "app-measurement.com", "Google (Firebase)", Analytics, "US");
    expect(&e, "firebaseinstallations.googleapis.com", "Google (Firebase)", Analytics, "US");
    expect(&e, "settings.crashlytics.com", "Google (Crashlytics)", CrashReporting, "US");
    expect(&e, "fcm.googleapis.com", "Google (Firebase Cloud Messaging)", Push, "US");
    expect(&e, "googleads.g.doubleclick.net", "Google (Ads)", Advertising, "US");
    expect(&e, "www.google-analytics.com", "Google (Analytics)", Analytics, "US");
    expect(&e, "gsp64-ssl.ls.apple.com", "Apple", OsVendor, "US");
    expect(&e, "1-courier.push.apple.com", "Apple (Push Notification service)", Push, "US");
    expect(&e, "mobile.events.data.microsoft.com", "Microsoft", OsVendor, "US");
    expect(&e, "x.blob.core.windows.net", "Microsoft Azure", CloudCdn, "US");
    expect(&e, "graph.facebook.com", "Meta", Social, "US");
    expect(&e, "scontent.cdninstagram.com", "Meta", Social, "US");
    expect(&e, "device-metrics-us.amazon.com", "Amazon", Other, "US");
    expect(&e, "d1234.cloudfront.net", "Amazon Web Services (CloudFront)", CloudCdn, "US");
    expect(&e, "log.byteoversea.com", "ByteDance (TikTok, Douyin)", Social, "CN");
    expect(&e, "api16-normal-c-useast1a.tiktokv.com", "ByteDance (TikTok, Douyin)", Social, "CN");
    expect(&e, "api-access.pangolin-sdk-toutiao.com", "Pangle (ByteDance)", Advertising, "CN");
    expect(&e, "mi.gdt.qq.com", "Tencent Ads (GDT)", Advertising, "CN");
    expect(&e, "android.bugly.qq.com", "Tencent Bugly", CrashReporting, "CN");
    expect(&e, "weixin.qq.com", "Tencent", Social, "CN");
    expect(&e, "alog.umeng.com", "Umeng (Alibaba)", Analytics, "CN");
    expect(&e, "oss-cn-hangzhou.aliyuncs.com", "Alibaba Cloud", CloudCdn, "CN");
    expect(&e, "mobads.baidu.com", "Baidu (Mobile Ads)", Advertising, "CN");
    expect(&e, "www.baidu.com", "Baidu", Other, "CN");
    expect(&e, "report.appmetrica.yandex.net", "Yandex (AppMetrica, Metrica)", Analytics, "RU");
    expect(&e, "yandex.ru", "Yandex", Other, "RU");
    expect(&e, "m.naver.com", "Naver", Other, "KR");
    expect(&e, "kakao.com", "Kakao", Social, "KR");
    expect(&e, "obs.line-scdn.net", "LY Corporation (LINE, Yahoo! JAPAN)", Social, "JP");
}

#[test]
fn sdks_and_infrastructure() {
    let e = db();
    use Category::*;
    expect(&e, "app.adjust.com", "Adjust", Analytics, "DE");
    expect(&e, "t.appsflyer.com", "AppsFlyer", Analytics, "IL");
    expect(&e, "api2.branch.io", "Branch", Analytics, "US");
    expect(&e, "data.flurry.com", "Flurry (Yahoo)", Analytics, "US");
    expect(&e, "api2.amplitude.com", "Amplitude", Analytics, "US");
    expect(&e, "api.mixpanel.com", "Mixpanel", Analytics, "US");
    expect(&e, "sdk.iad-01.braze.com", "Braze", Analytics, "US");
    expect(&e, "o123.ingest.sentry.io", "Sentry", CrashReporting, "US");
    expect(&e, "sessions.bugsnag.com", "Bugsnag (SmartBear)", CrashReporting, "US");
    expect(&e, "mobile-collector.newrelic.com", "New Relic", CrashReporting, "US");
    expect(&e, "onesignal.com", "OneSignal", Push, "US");
    expect(&e, "sdk.open.phone.igexin.com", "Getui", Push, "CN");
    expect(&e, "auction.unityads.unity3d.com", "Unity Ads", Advertising, "US");
    expect(&e, "cdp.cloud.unity3d.com", "Unity Technologies", Other, "US");
    expect(&e, "ms.applovin.com", "AppLovin (MoPub)", Advertising, "US");
    expect(&e, "outcome-ssp.supersonicads.com", "ironSource (Unity)", Advertising, "IL");
    expect(&e, "analytics.rayjump.com", "Mintegral (Mobvista)", Advertising, "CN");
    expect(&e, "sdkm.w.inmobi.com", "InMobi", Advertising, "IN");
    expect(&e, "api.vungle.com", "Liftoff (Vungle)", Advertising, "US");
    expect(&e, "live.chartboost.com", "Chartboost", Advertising, "US");
    expect(&e, "ib.adnxs.com", "Xandr (Microsoft)", Advertising, "US");
    expect(&e, "bidder.criteo.com", "Criteo", Advertising, "FR");
    expect(&e, "sb.scorecardresearch.com", "comScore", Analytics, "US");
    expect(&e, "www.gstatic.com", "Google", OsVendor, "US");
    expect(&e, "a248.e.akamai.net", "Akamai", CloudCdn, "US");
    expect(&e, "cdnjs.cloudflare.com", "Cloudflare", CloudCdn, "US");
    expect(&e, "github.map.fastly.net", "Fastly", CloudCdn, "US");
    expect(&e, "www.verizon.com", "Verizon", Carrier, "US");
    expect(&e, "10086.cn", "China Mobile", Carrier, "CN");
}

#[test]
fn matching_ignores_case_and_trailing_dot_and_never_matches_ips() {
    let e = db();
    assert_eq!(e.attribute("API.Account.XIAOMI.com.").unwrap().name, "Xiaomi");
    assert!(e.attribute("8.8.8.8").is_none());
    assert!(e.attribute("2001:4860:4860::8888").is_none());
    assert!(e.attribute("[2001:4860:4860::8888]").is_none());
    assert!(e.attribute("").is_none());
    assert!(e.attribute(".").is_none());
    assert!(e.attribute("com").is_none());
    assert!(e.attribute("example.invalid").is_none());
    // A name ending in a listed domain without a dot boundary does not match.
    assert!(e.attribute("notxiaomi.com").is_none());
}

#[test]
fn cname_cloaking_goes_to_the_tracker() {
    let user = r#"
[[entity]]
name = "Example Shop"
category = "other"
country = "DE"
domains = ["example-shop.com"]
"#;
    let e = Entities::builtin_with_str(user, Path::new("shop.toml")).unwrap();
    // First party cloaking Adobe.
    let (ent, name) =
        e.attribute_chain(&["metrics.example-shop.com", "example-shop.sc.omtrdc.net"]).unwrap();
    assert_eq!((ent.name.as_str(), name), ("Adobe Experience Cloud", "example-shop.sc.omtrdc.net"));
    // Unattributed first name cloaking a tracker.
    let (ent, _) = e.attribute_chain(&["m.unknown.example", "x.sc.omtrdc.net"]).unwrap();
    assert_eq!(ent.name, "Adobe Experience Cloud");
    // A CDN behind a first party stays the first party.
    let (ent, name) = e
        .attribute_chain(&["www.xiaomi.com", "www.xiaomi.com.edgekey.net", "e1.akamaiedge.net"])
        .unwrap();
    assert_eq!((ent.name.as_str(), name), ("Xiaomi", "www.xiaomi.com"));
    // A tracker behind a CDN: the tracker asked for is the answer.
    let (ent, _) = e.attribute_chain(&["app.adjust.com", "adjust.map.fastly.net"]).unwrap();
    assert_eq!(ent.name, "Adjust");
    // Unattributed first name behind a CDN: the CDN.
    let (ent, name) = e.attribute_chain(&["cdn.unknown.example", "d1.cloudfront.net"]).unwrap();
    assert_eq!(
        (ent.name.as_str(), name),
        ("Amazon Web Services (CloudFront)", "d1.cloudfront.net")
    );
    assert!(e.attribute_chain(&["a.unknown.example", "b.unknown.example"]).is_none());
    assert!(e.attribute_chain(&[]).is_none());
}

#[test]
fn user_file_adds_and_overrides() {
    let dir = std::env::temp_dir().join(format!("phonehome-entities-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mine.toml");
    std::fs::write(
        &path,
        r#"
[[entity]]
name = "ACME Telemetry"
category = "analytics"
country = "us"
domains = ["acme-telemetry.example", "Stats.Xiaomi.COM."]

[[entity]]
name = "xiaomi"
category = "manufacturer"
country = "HK"
domains = ["xiaomi-extra.example"]
"#,
    )
    .unwrap();
    let e = Entities::load_with(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let builtin = Entities::builtin().len();
    assert_eq!(e.len(), builtin + 1, "one new entity; the same-named one is overridden in place");
    expect(&e, "x.acme-telemetry.example", "ACME Telemetry", Category::Analytics, "US");
    // A user hostname beats the built-in parent domain.
    expect(&e, "a.stats.xiaomi.com", "ACME Telemetry", Category::Analytics, "US");
    // Same name: the built-in entity is updated and gains the domain.
    expect(&e, "api.xiaomi.com", "Xiaomi", Category::Manufacturer, "HK");
    expect(&e, "xiaomi-extra.example", "Xiaomi", Category::Manufacturer, "HK");
}

#[test]
fn user_file_overrides_an_existing_domain() {
    let user = r#"
[[entity]]
name = "My CDN"
category = "cloud-cdn"
country = "NL"
domains = ["adjust.com"]
"#;
    let e = Entities::builtin_with_str(user, Path::new("u.toml")).unwrap();
    expect(&e, "app.adjust.com", "My CDN", Category::CloudCdn, "NL");
}

#[track_caller]
fn load_err(text: &str) -> EntitiesError {
    Entities::builtin_with_str(text, Path::new("user.toml")).unwrap_err()
}

#[test]
fn errors_name_file_and_line() {
    let unknown_key = "\n[[entity]]\nname = \"A\"\ncategory = \"other\"\ncountry = \"US\"\nwebsite = \"x\"\ndomains = [\"a.example\"]\n";
    let err = load_err(unknown_key);
    let text = err.to_string();
    assert!(text.starts_with("user.toml:6: "), "{text}");
    assert!(text.contains("website"), "{text}");

    let err = load_err("entities = []\n");
    assert!(err.to_string().starts_with("user.toml:1: "), "{err}");

    let bad_category = "[[entity]]\nname = \"A\"\ncategory = \"tracker\"\ncountry = \"US\"\ndomains = [\"a.example\"]\n";
    let err = load_err(bad_category).to_string();
    assert!(err.starts_with("user.toml:3: ") && err.contains("tracker"), "{err}");

    let bad_country = "[[entity]]\nname = \"A\"\ncategory = \"other\"\ncountry = \"XX\"\ndomains = [\"a.example\"]\n";
    assert!(load_err(bad_country).to_string().starts_with("user.toml:4: "));

    let bad_domain = "[[entity]]\nname = \"A\"\ncategory = \"other\"\ncountry = \"US\"\ndomains = [\n\"a.example\",\n\"*.b.example\"]\n";
    let err = load_err(bad_domain).to_string();
    assert!(err.starts_with("user.toml:7: ") && err.contains("*.b.example"), "{err}");

    let dup = "[[entity]]\nname = \"A\"\ncategory = \"other\"\ncountry = \"US\"\ndomains = [\"a.example\"]\n\
               [[entity]]\nname = \"B\"\ncategory = \"other\"\ncountry = \"US\"\ndomains = [\"A.example\"]\n";
    let err = load_err(dup).to_string();
    assert!(err.starts_with("user.toml:10: ") && err.contains("twice"), "{err}");

    let ip = "[[entity]]\nname = \"A\"\ncategory = \"other\"\ncountry = \"US\"\ndomains = [\"10.0.0.1\"]\n";
    assert!(load_err(ip).to_string().contains("IP address"));

    let missing =
        Entities::load_with(Path::new("/nonexistent/phonehome/entities.toml")).unwrap_err();
    assert!(matches!(missing, EntitiesError::Io { .. }));
    assert!(missing.to_string().starts_with("/nonexistent/phonehome/entities.toml: "));
}

#[test]
fn registrable_domain_handles_psl_traps() {
    assert_eq!(registrable_domain("api.account.xiaomi.com"), "xiaomi.com");
    assert_eq!(registrable_domain("WWW.Example.COM"), "example.com");
    assert_eq!(registrable_domain("www.example.com."), "example.com");
    assert_eq!(registrable_domain("a.b.co.uk"), "b.co.uk");
    assert_eq!(registrable_domain("co.uk"), "co.uk");
    assert_eq!(registrable_domain("CO.UK"), "co.uk");
    assert_eq!(registrable_domain("com"), "com");
    assert_eq!(registrable_domain("www.example.com.cn"), "example.com.cn");
    assert_eq!(registrable_domain("10.0.0.1"), "10.0.0.1");
    assert_eq!(registrable_domain("2001:db8::1"), "2001:db8::1");
    assert_eq!(registrable_domain("[2001:db8::1]"), "[2001:db8::1]");
    assert_eq!(registrable_domain("localhost"), "localhost");
    assert_eq!(registrable_domain("router.lan"), "router.lan");
    // Private suffixes are not used: the company, not the tenant.
    assert_eq!(registrable_domain("x.y.s3.amazonaws.com"), "amazonaws.com");
    assert_eq!(registrable_domain("tracker.foo.blogspot.com"), "blogspot.com");
    assert_eq!(registrable_domain("foo.github.io"), "github.io");
    assert_eq!(registrable_domain("www.食狮.中国"), "食狮.中国");
}

#[test]
fn categories_round_trip_their_names() {
    for c in Category::ALL {
        let text = format!("c = \"{c}\"");
        #[derive(Deserialize)]
        struct T {
            c: Category,
        }
        assert_eq!(toml::from_str::<T>(&text).unwrap().c, c);
    }
}

#[test]
fn mobile_tracker_hosts_from_a_public_list_name_their_owner() {
    // A sample of DuckDuckGo's App Tracking Protection list (app/android-tds.json, hosts Android
    // SDKs contact, with their owners); bench/attribution.sh measures the whole list.
    let e = db();
    for (host, name, source) in [
        ("launches.appsflyer.com", "AppsFlyer", Source::Curated),
        ("configure.rayjump.com", "Mintegral (Mobvista)", Source::Curated),
        ("api.revenuecat.com", "RevenueCat", Source::Curated),
        ("networksdk.ssacdn.com", "ironSource (Unity)", Source::Curated),
        ("cdn-f.adsmoloco.com", "Moloco", Source::Curated),
        ("api.gameanalytics.com", "Mobvista (GameAnalytics)", Source::AdGuard),
        ("ads.yieldmo.com", "Yieldmo", Source::AdGuard),
        ("load77.exelator.com", "Nielsen (eXelate)", Source::AdGuard),
    ] {
        let (got, _) = e.attribute_matched(host).unwrap_or_else(|| panic!("{host}: unknown"));
        assert_eq!((got.name.as_str(), got.source), (name, source), "{host}");
    }
    // The curated layer wins over the open one up the whole name: AdGuard lists
    // graph.facebook.com (as Meta's ad network), the curated file facebook.com.
    let (meta, matched) = e.attribute_matched("graph.facebook.com").unwrap();
    assert_eq!((meta.source, &*matched), (Source::Curated, "facebook.com"));
    assert_eq!(meta.country.as_deref(), Some("US"));
}

#[test]
fn the_open_layer_counts_thousands_of_organisations() {
    let e = db();
    let open: HashSet<&str> = e
        .iter()
        .filter(|x| x.source == Source::AdGuard)
        .map(|x| x.name.split(" (").next().unwrap_or(&x.name))
        .collect();
    assert!(open.len() >= 2000, "{} organisations in the open layer", open.len());
    let matched = e.attribute_matched("X.Yieldmo.COM.").unwrap().1;
    assert_eq!(matched, "yieldmo.com");
}

#[test]
fn a_fetched_trackerdb_layer_sits_between_curated_and_adguard() {
    let dir = std::env::temp_dir().join(format!("phonehome-tdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trackerdb.tsv");
    // yieldmo.com is in the AdGuard layer; xiaomi.com curated; only-tdb.example nowhere else.
    std::fs::write(
        &path,
        "# test layer\nYieldmo\tadvertising\tUS\tyieldmo.com\nXiaomi Stats\tanalytics\tCN\txiaomi.com\nTdb Only\tanalytics\tDE\tonly-tdb.example\n",
    )
    .unwrap();
    let e = Entities::builtin().with_fetched_layer(&path).unwrap();
    let at = |h: &str| e.attribute(h).map(|x| (x.name.clone(), x.source, x.country.clone()));
    assert_eq!(
        at("x.only-tdb.example"),
        Some(("Tdb Only".into(), Source::TrackerDb, Some("DE".into())))
    );
    assert_eq!(at("ads.yieldmo.com").unwrap().1, Source::TrackerDb, "over AdGuard's");
    assert_eq!(at("api.xiaomi.com").unwrap().1, Source::Curated, "curated wins");
    std::fs::write(&path, "broken line\n").unwrap();
    let err = Entities::builtin().with_fetched_layer(&path).unwrap_err().to_string();
    assert!(err.contains("trackerdb.tsv:1:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
