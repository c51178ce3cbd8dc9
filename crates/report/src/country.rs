//! Country names for ISO 3166-1 alpha-2 codes.
//!
//! The table (`data/countries.tsv`: the 249 officially assigned codes, with the common English
//! short names, "Russia" rather than "Russian Federation") is compiled in and parsed on first use.

use std::sync::OnceLock;

/// The table: `code<TAB>name` lines, `#` comments.
const TABLE: &str = include_str!("../data/countries.tsv");

/// The parsed table, sorted by code.
fn table() -> &'static [([u8; 2], &'static str)] {
    static PARSED: OnceLock<Vec<([u8; 2], &'static str)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut rows: Vec<([u8; 2], &'static str)> = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (code, name) = l.split_once('\t')?;
                let code: [u8; 2] = code.trim().as_bytes().try_into().ok()?;
                Some((code, name.trim()))
            })
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        rows
    })
}

/// The common English short name of an ISO 3166-1 alpha-2 code (`"TW"` → `"Taiwan"`), upper- or
/// lower-case; `None` for anything that is not an officially assigned code.
pub fn name(code: &str) -> Option<&'static str> {
    let bytes: [u8; 2] = code.as_bytes().try_into().ok()?;
    let key = bytes.map(|b| b.to_ascii_uppercase());
    let rows = table();
    rows.binary_search_by_key(&key, |r| r.0).ok().map(|i| rows[i].1)
}

#[cfg(test)]
mod tests {
    use super::{name, table};

    #[test]
    fn common_names() {
        assert_eq!(name("CN"), Some("China"));
        assert_eq!(name("TW"), Some("Taiwan"));
        assert_eq!(name("US"), Some("United States"));
        assert_eq!(name("GB"), Some("United Kingdom"));
        assert_eq!(name("KR"), Some("South Korea"));
        assert_eq!(name("RU"), Some("Russia"));
        assert_eq!(name("DE"), Some("Germany"));
        assert_eq!(name("AX"), Some("Åland Islands"));
    }

    #[test]
    fn lower_and_mixed_case() {
        assert_eq!(name("cn"), Some("China"));
        assert_eq!(name("tW"), Some("Taiwan"));
    }

    #[test]
    fn unknown_or_malformed() {
        for code in ["", "X", "XX", "ZZ", "UK", "EU", "USA", "C1", "中国", "é", "A\u{1b}"] {
            assert_eq!(name(code), None, "{code:?}");
        }
    }

    #[test]
    fn all_assigned_codes_unique_and_well_formed() {
        let rows = table();
        assert_eq!(rows.len(), 249);
        for w in rows.windows(2) {
            assert!(w[0].0 < w[1].0, "duplicate or unsorted {:?}", w[1].0);
        }
        for (code, n) in rows {
            assert!(code.iter().all(u8::is_ascii_uppercase), "{code:?}");
            assert!(!n.is_empty() && !n.chars().any(char::is_control), "{n:?}");
        }
    }
}
