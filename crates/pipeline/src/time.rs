//! RFC 3339 rendering of capture timestamps (UTC), without a clock or a date crate.

use std::fmt::Write;

use capture::Timestamp;

/// Formats `ts` as RFC 3339 UTC: `2014-08-10T12:34:56.123456Z`. Six fractional digits, or nine when
/// the timestamp has sub-microsecond precision. Works for times before 1970.
pub fn rfc3339(ts: Timestamp) -> String {
    let mut s = String::with_capacity(30);
    write_rfc3339(&mut s, ts);
    s
}

/// Appends the RFC 3339 form of `ts` to `out`.
pub fn write_rfc3339(out: &mut String, ts: Timestamp) {
    let ns = ts.0;
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
    if frac % 1000 == 0 {
        let _ = write!(out, ".{:06}Z", frac / 1000);
    } else {
        let _ = write!(out, ".{frac:09}Z");
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(rfc3339(Timestamp(0)), "1970-01-01T00:00:00.000000Z");
        // 2014-08-10 12:34:56.5 UTC = 1407674096.5
        assert_eq!(rfc3339(Timestamp(1_407_674_096_500_000_000)), "2014-08-10T12:34:56.500000Z");
        assert_eq!(rfc3339(Timestamp(951_782_400_000_000_000)), "2000-02-29T00:00:00.000000Z");
        assert_eq!(rfc3339(Timestamp(1_000_000_001)), "1970-01-01T00:00:01.000000001Z");
    }

    #[test]
    fn before_1970_and_extremes() {
        assert_eq!(rfc3339(Timestamp(-1_000)), "1969-12-31T23:59:59.999999Z");
        assert_eq!(rfc3339(Timestamp(-86_400_000_000_000)), "1969-12-31T00:00:00.000000Z");
        // 2038 and 2107 (tcpdump's timestamp tests) and i64 limits never panic.
        assert_eq!(rfc3339(Timestamp(2_147_483_648_000_000_000)), "2038-01-19T03:14:08.000000Z");
        let _ = rfc3339(Timestamp(i64::MAX));
        let _ = rfc3339(Timestamp(i64::MIN));
    }
}
