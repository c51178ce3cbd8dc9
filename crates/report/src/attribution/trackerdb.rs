//! Ghostery's TrackerDB, fetched by the user (`scripts/entities-trackerdb.sh`): its licence
//! (CC BY-NC-SA 4.0) does not let phonehome ship it, but it holds what the shipped layers lack,
//! the headquarters country of most of its organisations. Compiled into the layer format of
//! [`super::open`] in `data/entities/trackerdb.tsv`, it is found at run time like the geo data
//! and consulted after the curated layer, before AdGuard's.
//!
//! Contract: [`compile`] reads the SQL dump TrackerDB releases (and WhoTracks.me keeps as
//! `trackerdb.sql`): `INSERT INTO <table> VALUES(...);` statements of the `categories`,
//! `companies`, `trackers` and `tracker_domains` tables; string literals with `''` escapes,
//! `NULL`, numbers; anything else is skipped. Malformed input gives an error or fewer rows,
//! never a panic.

use std::collections::HashMap;

use super::open::{CompanyRow, CompileStats, TrackerRow, build_layer};
use super::{Category, Entities};

/// The layer's file name in a data directory's `entities/` folder.
pub const FILE_NAME: &str = "trackerdb.tsv";

/// Compiles a TrackerDB SQL dump into the layer format.
pub fn compile(sql: &str, curated: &Entities) -> Result<(String, CompileStats), String> {
    let mut categories: HashMap<String, Category> = HashMap::new();
    let mut companies: HashMap<String, CompanyRow> = HashMap::new();
    let mut trackers: HashMap<String, TrackerRow> = HashMap::new();
    let mut domains: Vec<(String, String)> = Vec::new();
    let text =
        |v: &Option<String>| v.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    for (table, row) in inserts(sql) {
        let at = |i: usize| row.get(i).cloned().flatten();
        match table {
            "categories" => {
                if let (Some(id), Some(name)) = (at(0), at(1)) {
                    categories.insert(id, category_of(&name));
                }
            }
            "companies" => {
                let Some(id) = at(0) else { continue };
                let country = at(6).map(|c| c.trim().to_ascii_uppercase()).filter(|c| c.len() == 2);
                let company = CompanyRow {
                    name: text(&at(1)).unwrap_or_default(),
                    website: text(&at(4)),
                    country,
                };
                companies.insert(id, company);
            }
            "trackers" => {
                let Some(id) = at(0) else { continue };
                let category =
                    at(2).and_then(|c| categories.get(&c).copied()).unwrap_or(Category::Other);
                let name = text(&at(1)).unwrap_or_else(|| id.clone());
                trackers.insert(
                    id,
                    TrackerRow { name, category, company: text(&at(4)), url: text(&at(3)) },
                );
            }
            "tracker_domains" => {
                if let (Some(t), Some(d)) = (at(0), at(1)) {
                    domains.push((d, t));
                }
            }
            _ => {}
        }
    }
    if trackers.is_empty() || domains.is_empty() {
        return Err("no trackers or tracker domains: not a TrackerDB SQL dump".into());
    }
    let header = "# phonehome entity layer compiled from Ghostery TrackerDB (CC BY-NC-SA 4.0) by\n\
         # scripts/entities-trackerdb.sh on this machine: fetched by the user, not distributed.\n";
    Ok(build_layer(header, &trackers, &companies, domains, curated))
}

/// TrackerDB category names to phonehome's.
fn category_of(name: &str) -> Category {
    match name.trim() {
        "advertising" | "pornvertising" => Category::Advertising,
        "site_analytics" => Category::Analytics,
        "social_media" => Category::Social,
        "hosting" => Category::CloudCdn,
        _ => Category::Other,
    }
}

/// Every `INSERT INTO <table> VALUES(...)` row: the table name and its values (`None` for
/// `NULL`; numbers as text).
fn inserts(sql: &str) -> Vec<(&str, Vec<Option<String>>)> {
    const KEY: &str = "INSERT INTO ";
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find(KEY) {
        rest = &rest[i + KEY.len()..];
        let Some(v) = rest.find(" VALUES(") else { break };
        let table = rest[..v].trim().trim_matches(|c| c == '"' || c == '`');
        rest = &rest[v + " VALUES(".len()..];
        let (row, used) = values(rest);
        rest = &rest[used..];
        if let Some(row) = row {
            out.push((table, row));
        }
    }
    out
}

/// The values of one row up to its closing `)`; how many bytes were read.
fn values(s: &str) -> (Option<Vec<Option<String>>>, usize) {
    let b = s.as_bytes();
    let mut row = Vec::new();
    let mut i = 0;
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match b.get(i) {
            None => return (None, s.len()),
            Some(b'\'') => {
                let mut v = String::new();
                let mut j = i + 1;
                loop {
                    let Some(k) = s[j..].find('\'') else { return (None, s.len()) };
                    v.push_str(&s[j..j + k]);
                    j += k + 1;
                    if b.get(j) == Some(&b'\'') {
                        v.push('\'');
                        j += 1;
                    } else {
                        break;
                    }
                }
                row.push(Some(v));
                i = j;
            }
            Some(_) => {
                let end = s[i..].find([',', ')']).map_or(s.len(), |k| i + k);
                let token = s[i..end].trim();
                row.push((!token.eq_ignore_ascii_case("NULL")).then(|| token.to_owned()));
                i = end;
            }
        }
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b')') => return (Some(row), i + 1),
            _ => return (None, i.max(1).min(s.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: &str = "CREATE TABLE categories(id INTEGER PRIMARY KEY, name TEXT UNIQUE);
INSERT INTO categories VALUES(1,'advertising');
INSERT INTO categories VALUES(9,'site_analytics');
INSERT INTO companies VALUES('acme','Acme, Inc.','An ''ad'' company,
over two lines','https://acme.example/p','https://www.acme.example/','1','US',NULL,NULL);
INSERT INTO companies VALUES('nocc','No Country','',NULL,'https://nocountry.io/','2',NULL,NULL,NULL);
INSERT INTO trackers VALUES('acme_ads','Acme Ads',1,NULL,'acme','',NULL,NULL);
INSERT INTO trackers VALUES('nc','NC Stats',9,NULL,'nocc','',NULL,NULL);
INSERT INTO tracker_domains VALUES('acme_ads','acme-ads.example',NULL);
INSERT INTO tracker_domains VALUES('acme_ads','ADS.ACME.example.',NULL);
INSERT INTO tracker_domains VALUES('nc','nc-stats.io',NULL);
INSERT INTO tracker_domains VALUES('missing','orphan.example',NULL);
INSERT INTO broken VALUES('unterminated";

    #[test]
    fn compiles_countries_categories_and_domains() {
        let curated = Entities::curated_only();
        let (text, stats) = compile(SQL, &curated).unwrap();
        let lines = super::super::open::parse(&text, std::path::Path::new("t.tsv")).unwrap();
        let find = |d: &str| lines.iter().find(|(_, ds)| ds.iter().any(|x| x == d)).unwrap();
        let (acme, ds) = find("ads.acme.example");
        assert_eq!(
            (acme.name.as_str(), acme.category, acme.country.as_deref()),
            ("Acme Ads", Category::Advertising, Some("US"))
        );
        assert_eq!(ds.len(), 2);
        let (nc, _) = find("nc-stats.io");
        assert_eq!((nc.category, nc.country.as_deref()), (Category::Analytics, None));
        assert_eq!((stats.lines, stats.domains, stats.with_country), (2, 3, 1));
    }

    #[test]
    fn values_and_garbage() {
        assert_eq!(
            values("'a''b',NULL, 3)x").0,
            Some(vec![Some("a'b".into()), None, Some("3".into())])
        );
        assert_eq!(values("'open").0, None);
        assert_eq!(values("1 2").0, None);
        assert!(compile("nothing here", &Entities::curated_only()).is_err());
        for cut in 0..SQL.len() {
            if SQL.is_char_boundary(cut) {
                let _ = inserts(&SQL[..cut]);
            }
        }
    }
}
