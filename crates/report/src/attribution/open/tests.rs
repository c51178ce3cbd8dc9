use std::path::Path;

use super::*;

const TRACKERS: &str = r#"{
  "timeUpdated": "2026-07-20T11:02:11.184Z",
  "trackers": {
    "adjust": {"name": "Adjust", "categoryId": 101, "url": "https://www.adjust.com/", "companyId": "applovin"},
    "applovin": {"name": "AppLovin", "categoryId": 4, "url": "https://www.applovin.com/", "companyId": "applovin"},
    "xiaomi_ads": {"name": "Xiaomi Ads", "categoryId": 4, "url": "https://www.mi.com/", "companyId": "xiaomi"},
    "yandex_metrika": {"name": "Yandex Metrika", "categoryId": 6, "url": "https://metrika.yandex.ru/", "companyId": "yandex"},
    "tiny": {"name": "Tiny Stats", "categoryId": 6, "url": "https://tiny.io/", "companyId": null},
    "dead": {"name": "Dead", "categoryId": 4, "companyId": "nobody"}
  },
  "trackerDomains": {
    "adjust.com": "adjust", "adj.st": "adjust",
    "applvn.com": "applovin", "APPLOVIN-EXTRA.COM.": "applovin",
    "sdkconfig.ad.intl.xiaomi.com": "xiaomi_ads", "xiaomi-ads.example": "xiaomi_ads",
    "mc.yandex.ru": "yandex_metrika",
    "tinystats.io": "tiny",
    "bad domain": "tiny", "1.2.3.4": "tiny", "nodot": "tiny",
    "orphan.example": "missing-tracker"
  }
}"#;

const COMPANIES: &str = r#"{
  "companies": {
    "applovin": {"name": "AppLovin", "websiteUrl": "https://www.applovin.com/", "description": ""},
    "xiaomi": {"name": "Xiaomi", "websiteUrl": "https://www.mi.com/", "description": ""},
    "yandex": {"name": "Yandex", "websiteUrl": "https://yandex.ru/", "description": ""},
    "nobody": {"name": "Nobody\tInc", "websiteUrl": "", "description": ""}
  }
}"#;

const CURATED: &str = r#"
[[entity]]
name = "Xiaomi"
category = "manufacturer"
country = "CN"
domains = ["xiaomi.com", "mi.com"]

[[entity]]
name = "AppLovin"
category = "advertising"
country = "US"
domains = ["applovin.com"]
"#;

fn curated() -> Entities {
    let mut e = Entities {
        entities: Vec::new(),
        by_domain: HashMap::new(),
        local_by_domain: HashMap::new(),
        open_by_domain: HashMap::new(),
    };
    e.merge(CURATED, Path::new("curated.toml"), false).unwrap();
    e
}

#[test]
fn compiles_products_with_owner_category_and_country() {
    let (text, stats) = compile_adguard(TRACKERS, COMPANIES, &curated()).unwrap();
    let lines = parse(&text, Path::new("out.tsv")).unwrap();
    let find = |d: &str| lines.iter().find(|(_, ds)| ds.iter().any(|x| x == d)).map(|(e, _)| e);
    // Adjust belongs to AppLovin: named `AppLovin (Adjust)`, mobile analytics, the curated HQ.
    let adjust = find("adj.st").unwrap();
    assert_eq!(
        (adjust.name.as_str(), adjust.category, adjust.country.as_deref()),
        ("AppLovin (Adjust)", Category::Analytics, Some("US"))
    );
    // A tracker named after its company keeps the company's name; domains are normalised.
    let lovin = find("applovin-extra.com").unwrap();
    assert_eq!((lovin.name.as_str(), lovin.category), ("AppLovin", Category::Advertising));
    assert!(find("applvn.com").is_some());
    // `Yandex Metrika` starts with its company's name; the website's `.ru` gives the country.
    let ym = find("mc.yandex.ru").unwrap();
    assert_eq!((ym.name.as_str(), ym.country.as_deref()), ("Yandex Metrika", Some("RU")));
    // No company, a generic `.io` website: no country is guessed.
    let tiny = find("tinystats.io").unwrap();
    assert_eq!((tiny.name.as_str(), tiny.country.as_deref()), ("Tiny Stats", None));
    // What the curated layer attributes already is left out (it would never be asked).
    assert!(find("sdkconfig.ad.intl.xiaomi.com").is_none());
    // The Xiaomi tracker's own domain is linked to the curated company and its country.
    let mi = find("xiaomi-ads.example").unwrap();
    assert_eq!((mi.name.as_str(), mi.country.as_deref()), ("Xiaomi Ads", Some("CN")));
    // Bad domains, unknown trackers: skipped, never a panic.
    for d in ["bad domain", "1.2.3.4", "nodot", "orphan.example"] {
        assert!(find(d).is_none(), "{d}");
    }
    assert_eq!(stats.curated, 1);
    assert_eq!(stats.domains, 7);
    assert_eq!(stats.lines, lines.len());
    assert_eq!(stats.with_country, lines.iter().filter(|(e, _)| e.country.is_some()).count());
}

#[test]
fn compile_refuses_input_without_its_tables() {
    let err = compile_adguard("{}", COMPANIES, &curated()).unwrap_err();
    assert!(err.contains("trackers.json: no `trackers`"), "{err}");
    assert!(compile_adguard("[", COMPANIES, &curated()).unwrap_err().starts_with("trackers.json"));
    assert!(compile_adguard(TRACKERS, "{}", &curated()).unwrap_err().contains("companies.json"));
}

#[test]
fn parse_names_the_line_of_every_error() {
    let cases: &[(&str, &str)] = &[
        ("a\tanalytics\tUS\n", "3 tab-separated fields"),
        ("a\tspyware\tUS\tx.com\n", "unknown category"),
        ("a\tanalytics\tXX\tx.com\n", "not an ISO 3166"),
        ("a\tanalytics\tUS\tX.com\n", "lower-case"),
        ("a\tanalytics\tUS\tx.com.\n", "lower-case"),
        ("a\tanalytics\tUS\t*.x.com\n", "not a host name"),
        ("a\tanalytics\tUS\t\n", "has no domains"),
        ("\tanalytics\tUS\tx.com\n", "empty entity name"),
        ("a\tanalytics\tUS\tx.com\nb\tother\t-\tx.com\n", "listed twice"),
    ];
    for (text, want) in cases {
        let text = format!("# header\n{text}");
        let err = parse(&text, Path::new("layer.tsv")).unwrap_err().to_string();
        assert!(err.starts_with("layer.tsv:2:") || err.starts_with("layer.tsv:3:"), "{err}");
        assert!(err.contains(want), "{text:?}: {err}");
    }
    let ok = parse("# c\n\nx\tother\t-\ta.com b.com\n", Path::new("l")).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].1, ["a.com", "b.com"]);
    assert_eq!(ok[0].0.source, Source::AdGuard);
}

#[test]
fn names_drop_legal_forms_and_repeats() {
    assert_eq!(clean_name("Pixalate, Inc."), "Pixalate");
    assert_eq!(clean_name("Adjust GmbH"), "Adjust");
    assert_eq!(clean_name("Foo Co., Ltd."), "Foo");
    assert_eq!(clean_name("Inc"), "Inc");
    assert_eq!(squash("Deep Intent"), squash("DeepIntent"));
}

#[test]
fn tld_countries_skip_generic_codes() {
    assert_eq!(country_of_tld("www.example.de").as_deref(), Some("DE"));
    assert_eq!(country_of_tld("example.co.uk").as_deref(), Some("GB"));
    assert_eq!(country_of_tld("example.co.jp").as_deref(), Some("JP"));
    for h in ["example.io", "example.co", "example.tv", "example.ai", "example.com", "example.eu"] {
        assert_eq!(country_of_tld(h), None, "{h}");
    }
    assert_eq!(host_of("https://www.Example.de:443/a?b").as_deref(), Some("www.example.de"));
    assert_eq!(host_of(""), None);
}

#[test]
fn the_builtin_layer_is_valid_and_below_the_curated_one() {
    let lines = parse(ADGUARD, Path::new("adguard/entities.tsv")).unwrap();
    let e = Entities::builtin();
    let curated = Entities::curated_only();
    // Every domain of the layer is one the curated layer does not know (it would be dead).
    for (_, domains) in &lines {
        for d in domains {
            assert!(curated.attribute(d).is_none(), "{d} is curated");
        }
    }
    assert_eq!(e.len(), curated.len() + lines.len());
}
