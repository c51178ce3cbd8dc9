//! The benchmark's device profile: one device with every identifier kind, plus an address book of
//! generated contacts (names, Taiwanese, Chinese and US phone numbers, e-mail addresses).
//!
//! Deterministic for a seed. [`BenchProfile::toml`] and [`BenchProfile::vcard`] write it in the
//! formats `phonehome analyze --profile` reads; the all-HTTP benchmark capture plants some of its
//! values ([`super::MixMode::Http`]).
//!
//! ```
//! use testkit::mix::BenchProfile;
//! let p = BenchProfile::new(1, 500);
//! assert_eq!(p.contacts.len(), 500);
//! assert!(p.vcard().matches("BEGIN:VCARD").count() == 500);
//! assert!(p.toml("contacts.vcf").contains("imei = [\""));
//! ```

use std::fmt::Write as _;

use crate::rng::Rng;

/// One address-book entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchContact {
    /// Full name (Latin or Chinese script).
    pub name: String,
    /// Numbers in international format (`+886 912 345 678`, `+86 138 1234 5678`,
    /// `+1 415-555-0123` style).
    pub phones: Vec<String>,
    /// E-mail addresses (possibly none).
    pub emails: Vec<String>,
}

/// A device and its address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchProfile {
    /// 15 digits, Luhn-valid, TAC of reporting body 35.
    pub imei: String,
    /// MCC 466 (Taiwan), MNC 92.
    pub imsi: String,
    /// 19 digits, `8988692...`, Luhn-valid.
    pub iccid: String,
    /// The device's number, international format.
    pub phone: String,
    /// Hardware serial.
    pub serial: String,
    /// 16 lower-case hex digits.
    pub android_id: String,
    /// A lower-case UUID.
    pub advertising_id: String,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// The owner's address.
    pub email: String,
    /// The address book.
    pub contacts: Vec<BenchContact>,
}

const FIRST: &[&str] = &[
    "Alice", "Brian", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jason",
    "Karen", "Leo", "Mia", "Nathan", "Olivia", "Peter", "Queenie", "Ryan", "Sophia", "Tom",
    "Ursula", "Victor", "Wendy", "Xavier", "Yvonne", "Zack", "Amber", "Ben", "Cindy", "Derek",
];
const LAST: &[&str] = &[
    "Chen", "Lin", "Huang", "Chang", "Lee", "Wang", "Wu", "Liu", "Tsai", "Yang", "Smith",
    "Johnson", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Anderson", "Taylor",
];
/// Chinese surnames and given names, with their pinyin for e-mail local parts.
const SURNAME_ZH: &[(&str, &str)] = &[
    ("陳", "chen"),
    ("林", "lin"),
    ("黃", "huang"),
    ("張", "zhang"),
    ("李", "li"),
    ("王", "wang"),
    ("吳", "wu"),
    ("劉", "liu"),
    ("蔡", "cai"),
    ("楊", "yang"),
];
const GIVEN_ZH: &[(&str, &str)] = &[
    ("怡君", "yijun"),
    ("志明", "zhiming"),
    ("雅婷", "yating"),
    ("家豪", "jiahao"),
    ("淑芬", "shufen"),
    ("俊傑", "junjie"),
    ("美玲", "meiling"),
    ("建宏", "jianhong"),
    ("佳穎", "jiaying"),
    ("冠宇", "guanyu"),
    ("秀英", "xiuying"),
    ("偉", "wei"),
];
const MAIL_DOMAINS: &[&str] =
    &["gmail.com", "yahoo.com.tw", "qq.com", "163.com", "outlook.com", "example.org"];
const US_AREAS: &[u32] = &[212, 415, 646, 312, 617, 206, 303, 512, 408, 650];

fn luhn_complete(base: &str) -> String {
    let digits: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let d = if i % 2 == 0 { d * 2 } else { *d };
        sum += if d > 9 { d - 9 } else { d };
    }
    format!("{base}{}", (10 - sum % 10) % 10)
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.below(10) as u8)).collect()
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize])).collect()
}

impl BenchProfile {
    /// The device, and `contacts` contacts (all values distinct).
    pub fn new(seed: u64, contacts: usize) -> Self {
        let mut rng = Rng::new(seed ^ 0x5052_4f46_494c_4531);
        let imei = luhn_complete(&format!("35{}", digits(&mut rng, 12)));
        let imsi = format!("46692{}", digits(&mut rng, 10));
        let iccid = luhn_complete(&format!("8988692{}", digits(&mut rng, 11)));
        let phone = format!(
            "+886 9{} {} {}",
            digits(&mut rng, 2),
            digits(&mut rng, 3),
            digits(&mut rng, 3)
        );
        let serial = format!("R58M{}", hex(&mut rng, 7).to_uppercase());
        let android_id = hex(&mut rng, 16);
        let u = hex(&mut rng, 32);
        let advertising_id =
            format!("{}-{}-4{}-a{}-{}", &u[..8], &u[8..12], &u[13..16], &u[17..20], &u[20..]);
        let m = hex(&mut rng, 12);
        // Locally administered unicast, like Android's randomised MACs.
        let m0 = (u8::from_str_radix(&m[..2], 16).unwrap_or(0) & 0xfc) | 0x02;
        let mut mac = format!("{m0:02x}");
        for k in 1..6 {
            mac.push(':');
            mac.push_str(&m[2 * k..2 * k + 2]);
        }
        let email = "ming.tester.1988@gmail.com".to_string();
        let mut seen = std::collections::HashSet::new();
        let mut list = Vec::with_capacity(contacts);
        for i in 0..contacts {
            let zh = i % 3 == 0;
            let (name, local) = if zh {
                let (s, sp) = *rng.pick(SURNAME_ZH);
                let (g, gp) = *rng.pick(GIVEN_ZH);
                (format!("{s}{g}"), format!("{gp}.{sp}"))
            } else {
                let f = *rng.pick(FIRST);
                let l = *rng.pick(LAST);
                (format!("{f} {l}"), format!("{}.{}", f.to_lowercase(), l.to_lowercase()))
            };
            let mut phones = Vec::new();
            for k in 0..if rng.chance(1, 4) { 2 } else { 1 } {
                loop {
                    let p = match (i + k) % 3 {
                        0 => format!(
                            "+886 9{} {} {}",
                            digits(&mut rng, 2),
                            digits(&mut rng, 3),
                            digits(&mut rng, 3)
                        ),
                        1 => format!(
                            "+86 13{} {} {}",
                            rng.below(10),
                            digits(&mut rng, 4),
                            digits(&mut rng, 4)
                        ),
                        _ => format!(
                            "+1 {}-{}{}-{}",
                            rng.pick(US_AREAS),
                            rng.range(2, 10),
                            digits(&mut rng, 2),
                            digits(&mut rng, 4)
                        ),
                    };
                    if seen.insert(p.clone()) {
                        phones.push(p);
                        break;
                    }
                }
            }
            let mut emails = Vec::new();
            if rng.chance(3, 5) {
                let e = format!("{local}{}@{}", i, rng.pick(MAIL_DOMAINS));
                emails.push(e);
            }
            list.push(BenchContact { name, phones, emails });
        }
        Self {
            imei,
            imsi,
            iccid,
            phone,
            serial,
            android_id,
            advertising_id,
            mac,
            email,
            contacts: list,
        }
    }

    /// The profile as TOML, its contacts read from `vcf` (a path relative to the profile).
    pub fn toml(&self, vcf: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Benchmark device profile (testkit::mix::BenchProfile), generated.");
        let _ = writeln!(s, "name = \"bench device\"");
        let _ = writeln!(s, "country = \"TW\"\n");
        let _ = writeln!(s, "[identifiers]");
        for (k, v) in [
            ("imei", &self.imei),
            ("imsi", &self.imsi),
            ("iccid", &self.iccid),
            ("phone", &self.phone),
            ("serial", &self.serial),
            ("android_id", &self.android_id),
            ("advertising_id", &self.advertising_id),
            ("mac", &self.mac),
            ("email", &self.email),
        ] {
            let _ = writeln!(s, "{k} = [\"{v}\"]");
        }
        let _ = writeln!(s, "\n[location]\nlat = 25.0339\nlon = 121.5645\nradius_m = 500\n");
        let _ = writeln!(s, "[contacts]\nvcf = \"{vcf}\"\n");
        let _ = writeln!(s, "[[sms]]\ntext = \"Meet me at the station at 3pm\"\n");
        let _ = writeln!(s, "[[custom]]\nlabel = \"home Wi-Fi\"\nvalue = \"CanaryNet-7f3a\"");
        s
    }

    /// The contacts as a vCard 3.0 file.
    pub fn vcard(&self) -> String {
        let mut s = String::new();
        for c in &self.contacts {
            let _ = write!(s, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{}\r\n", c.name);
            for p in &c.phones {
                let _ = write!(s, "TEL;TYPE=CELL:{p}\r\n");
            }
            for e in &c.emails {
                let _ = write!(s, "EMAIL;TYPE=HOME:{e}\r\n");
            }
            s.push_str("END:VCARD\r\n");
        }
        s
    }
}
