//! Reference tables: mobile network codes (MCC/MNC, from `data/mcc_mnc.tsv`) and IMEI reporting
//! body identifiers.

use std::sync::OnceLock;

/// The MCC/MNC table as shipped (see `crates/detect/data/README.md` for its source and licence).
const MCC_MNC_TSV: &str = include_str!("../../data/mcc_mnc.tsv");

/// IMEI Reporting Body Identifiers: the first two digits of every TAC allocated to real devices.
///
/// Source: GSMA PRD TS.06 (IMEI Allocation and Approval Process, v25.0, May 2024), Appendix A, as
/// tabulated in Wikipedia's "Reporting Body Identifier" article: current bodies 01 (CTIA/PTCRB),
/// 35 (TÜV SÜD/BABT), 86 (TAF), 98 (reserved; a few TACs 98000100-98007800 were allocated),
/// 99 (GHA, multi-RAT 3GPP2/3GPP); bodies that no longer allocate but whose devices are still in
/// use: 10 (DECT), 30 (Iridium), 33 (DGPT), 44 (BABT), 45 (NTA), 49 (BZT/BAPT), 50 (BZT ETS),
/// 51 (Cetecom ICT), 52 (Cetecom), 53 (TÜV), 54 (Phoenix Test Lab), 91 (MSAI). 00 and 02-09 are
/// test IMEIs and are left out on purpose: no phone in the field carries one.
pub(super) const IMEI_RBI: [u8; 17] =
    [1, 10, 30, 33, 35, 44, 45, 49, 50, 51, 52, 53, 54, 86, 91, 98, 99];

/// The bodies that allocate the TACs of today's phones (8-digit TACs since 2003): CTIA (01),
/// BABT/TÜV SÜD (35), TAF (86), GHA (99). Without a telling key an IMEI must start with one of
/// these: 15-digit numbers starting `10` (user ids like `100004567890123`) are far more common in
/// traffic than DECT handsets.
pub(super) const CURRENT_RBI: [u8; 4] = [1, 35, 86, 99];

/// The reporting body of an IMEI (its first two digits), if they are digits.
fn rbi(digits: &[u8]) -> Option<u8> {
    match digits {
        [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some((a - b'0') * 10 + (b - b'0'))
        }
        _ => None,
    }
}

/// Whether the first two digits of `digits` are a Reporting Body Identifier ([`IMEI_RBI`]).
pub(super) fn plausible_tac(digits: &[u8]) -> bool {
    rbi(digits).is_some_and(|r| IMEI_RBI.contains(&r))
}

/// Whether the first two digits of `digits` are a body allocating today ([`CURRENT_RBI`]).
pub(super) fn current_tac(digits: &[u8]) -> bool {
    rbi(digits).is_some_and(|r| CURRENT_RBI.contains(&r))
}

/// A mobile network (one row of the MCC/MNC table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// Mobile country code (3 digits).
    pub mcc: &'static str,
    /// Mobile network code (2 or 3 digits, as allocated: `01` and `001` differ).
    pub mnc: &'static str,
    /// ISO 3166-1 country code (`US`, `GE-AB`), `INTL` for international codes, `TEST` for 001.
    pub country: &'static str,
    /// Operator or brand name.
    pub operator: &'static str,
}

/// Sort key of a network: the MNC length, then the 5- or 6-digit MCC+MNC number.
fn code(mnc_len: usize, digits: &[u8]) -> Option<u32> {
    let mut v: u32 = mnc_len as u32;
    for &d in digits.get(..3 + mnc_len)? {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(d - b'0');
    }
    Some(v)
}

/// The table, parsed once, sorted by [`code`].
fn table() -> &'static [(u32, Network)] {
    static TABLE: OnceLock<Vec<(u32, Network)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows = Vec::with_capacity(3200);
        for line in MCC_MNC_TSV.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(mcc), Some(mnc), Some(country), Some(operator)) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            if mcc.len() != 3 || !(2..=3).contains(&mnc.len()) {
                continue;
            }
            let digits = [mcc.as_bytes(), mnc.as_bytes()].concat();
            if let Some(c) = code(mnc.len(), &digits) {
                rows.push((c, Network { mcc, mnc, country, operator }));
            }
        }
        rows.sort_by_key(|r| r.0);
        rows.dedup_by_key(|r| r.0);
        rows
    })
}

/// The mobile network whose MCC and MNC start `digits` (an IMSI, or an MCC+MNC code). A 3-digit
/// MNC is tried first (the US, Canada and India use them), then a 2-digit one.
pub fn network(digits: &[u8]) -> Option<&'static Network> {
    let t = table();
    for mnc_len in [3, 2] {
        if let Some(c) = code(mnc_len, digits)
            && let Ok(i) = t.binary_search_by_key(&c, |r| r.0)
        {
            return Some(&t[i].1);
        }
    }
    None
}
