//! A fleet: many devices' reports read back from their JSON (`analyze --out DIR` writes one per
//! capture) into one table of devices × parties × kinds of data, for `phonehome fleet`.
//!
//! A device is named by its capture's `device` (a manifest's, `--device`), else the profile's
//! device name, else the label the caller gives (the report's file name); model and firmware
//! come from the manifest. A cell is what one device sent one party (the destination's party,
//! else its host): the kinds of data, the worst severity, and whether any of it went in
//! cleartext or to another country than the device's. Bounded: [`MAX_DEVICES`] devices and
//! [`MAX_CELLS`] cells; past them, counted in [`Fleet::left_out`].

use std::collections::{BTreeMap, BTreeSet};

mod manifest;

pub use manifest::{Labels, MAX_MANIFEST_BYTES, MAX_MANIFEST_LINE, MAX_MANIFEST_ROWS, Manifest};

use serde_json::Value;

use crate::diff::ReadError;
use crate::severity::Severity;

/// Most devices held.
pub const MAX_DEVICES: usize = 100_000;
/// Most (device, party) cells held.
pub const MAX_CELLS: usize = 1_000_000;

/// One device of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetDevice {
    /// Its name.
    pub name: String,
    /// Its model, when a manifest said.
    pub model: Option<String>,
    /// Its firmware, when a manifest said.
    pub firmware: Option<String>,
    /// The report it was read from.
    pub report: String,
    /// The report's verdict (`critical`...); `None` when nothing could be read.
    pub verdict: Option<String>,
    /// Whether the report read everything it was given.
    pub complete: bool,
    /// Findings in its report.
    pub findings: u64,
}

/// What one device sent one party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Kinds of data (`imei`, `phone`...), sorted.
    pub data: BTreeSet<String>,
    /// The worst severity of those findings.
    pub severity: Severity,
    /// Some of it travelled in cleartext.
    pub cleartext: bool,
    /// Some of it went to a server in another country than the device's.
    pub abroad: bool,
    /// Countries of the servers, sorted.
    pub countries: BTreeSet<String>,
    /// Occurrences.
    pub count: u64,
}

/// Devices × parties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fleet {
    /// In the order read.
    pub devices: Vec<FleetDevice>,
    /// By (device index, party).
    pub cells: BTreeMap<(usize, String), Cell>,
    /// Devices and cells past the limits.
    pub left_out: u64,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl Fleet {
    /// Adds one report (its JSON); `label` names the device when the report does not.
    ///
    /// # Errors
    /// A document that is not a `phonehome.report/1` report, or a finding without its kind,
    /// host or severity (named, with its index).
    pub fn add(&mut self, label: &str, doc: &Value) -> Result<(), ReadError> {
        if text(doc, "schema") != Some("phonehome.report/1") {
            return Err(ReadError("not a phonehome.report/1 report".into()));
        }
        let findings = doc
            .get("findings")
            .and_then(Value::as_array)
            .ok_or_else(|| ReadError("no \"findings\" list".into()))?;
        if self.devices.len() >= MAX_DEVICES {
            self.left_out += 1;
            return Ok(());
        }
        // Every finding is read before anything is added: a bad report adds nothing.
        let mut read = Vec::with_capacity(findings.len());
        for (i, f) in findings.iter().enumerate() {
            let need =
                |k: &str| text(f, k).ok_or_else(|| ReadError(format!("findings[{i}]: no {k:?}")));
            let (data, host) = (need("data")?, need("host")?);
            let severity = Severity::parse(need("severity")?)
                .ok_or_else(|| ReadError(format!("findings[{i}]: unknown \"severity\"")))?;
            // The report writes the party's name (an object with a `name` is read too).
            let party = match f.get("party") {
                Some(Value::String(p)) => p.as_str(),
                Some(p) => text(p, "name").unwrap_or(host),
                None => host,
            };
            read.push((f, party.to_owned(), data, severity));
        }
        let capture = doc.get("captures").and_then(|c| c.get(0));
        let label_of = |k: &str| capture.and_then(|c| text(c, k)).map(str::to_owned);
        let name = label_of("device")
            .or_else(|| doc.get("device").and_then(|d| text(d, "name")).map(str::to_owned))
            .unwrap_or_else(|| label.to_owned());
        let summary = doc.get("summary");
        let index = self.devices.len();
        self.devices.push(FleetDevice {
            name,
            model: label_of("model"),
            firmware: label_of("firmware"),
            report: label.to_owned(),
            verdict: summary.and_then(|s| text(s, "verdict")).map(str::to_owned),
            complete: summary.and_then(|s| s.get("complete")).and_then(Value::as_bool)
                == Some(true),
            findings: findings.len() as u64,
        });
        for (f, party, data, severity) in read {
            let key = (index, party);
            if !self.cells.contains_key(&key) && self.cells.len() >= MAX_CELLS {
                self.left_out += 1;
                continue;
            }
            let cell = self.cells.entry(key).or_insert_with(|| Cell {
                data: BTreeSet::new(),
                severity,
                cleartext: false,
                abroad: false,
                countries: BTreeSet::new(),
                count: 0,
            });
            cell.data.insert(data.to_owned());
            cell.severity = cell.severity.max(severity);
            cell.cleartext |= text(f, "exposure") == Some("cleartext");
            cell.abroad |= f.get("leaves_country").and_then(Value::as_bool) == Some(true);
            if let Some(c) = text(f, "country") {
                cell.countries.insert(c.to_owned());
            }
            cell.count += f.get("count").and_then(Value::as_u64).unwrap_or(1);
        }
        Ok(())
    }

    /// Adds `other`'s devices after this fleet's (a run's jobs each make their own, joined in
    /// the order of their captures).
    pub fn append(&mut self, other: Self) {
        self.left_out += other.left_out;
        for (i, d) in other.devices.into_iter().enumerate() {
            if self.devices.len() >= MAX_DEVICES {
                self.left_out += 1;
                continue;
            }
            let index = self.devices.len();
            self.devices.push(d);
            let cells = other.cells.range((i, String::new())..).take_while(|((d, _), _)| *d == i);
            for ((_, party), cell) in cells {
                if self.cells.len() >= MAX_CELLS {
                    self.left_out += 1;
                    continue;
                }
                self.cells.insert((index, party.clone()), cell.clone());
            }
        }
    }

    /// Parties in the order of how many devices send them data, then by name.
    pub fn parties(&self) -> Vec<(String, usize)> {
        let mut n: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, party) in self.cells.keys() {
            *n.entry(party).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = n.into_iter().map(|(p, c)| (p.to_owned(), c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// Which devices send each kind of data to each party: `(kind, party) -> device names`, in
    /// the devices' order.
    pub fn by_kind(&self) -> BTreeMap<(&str, &str), Vec<&str>> {
        let mut m: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for ((device, party), cell) in &self.cells {
            let Some(d) = self.devices.get(*device) else { continue };
            for kind in &cell.data {
                m.entry((kind.as_str(), party.as_str())).or_default().push(d.name.as_str());
            }
        }
        m
    }

    /// The cells of data sent in cleartext to a server in another country than the device's.
    pub fn cleartext_abroad(&self) -> impl Iterator<Item = (&FleetDevice, &str, &Cell)> {
        self.cells
            .iter()
            .filter(|(_, c)| c.cleartext && c.abroad)
            .filter_map(|((d, p), c)| Some((self.devices.get(*d)?, p.as_str(), c)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn finding(data: &str, host: &str, party: Option<&str>, sev: &str, exp: &str) -> Value {
        json!({
            "data": data, "host": host, "severity": sev, "exposure": exp, "count": 2,
            "party": party, "country": "CN", "leaves_country": true,
        })
    }

    fn report(device: Option<&str>, findings: Vec<Value>) -> Value {
        json!({
            "schema": "phonehome.report/1",
            "captures": [{ "device": device, "model": "Redmi 1S" }],
            "device": { "name": "profile name" },
            "summary": { "verdict": "critical", "complete": true },
            "findings": findings,
        })
    }

    #[test]
    fn devices_parties_and_kinds_are_tabled() {
        let mut fleet = Fleet::default();
        let a = vec![
            finding("imei", "api.xiaomi.com", Some("Xiaomi"), "critical", "cleartext"),
            finding("imsi", "data.mistat.xiaomi.com", Some("Xiaomi"), "high", "encrypted"),
            finding("gaid", "ads.example", None, "medium", "encrypted"),
        ];
        fleet.add("a.json", &report(Some("redmi-1"), a)).unwrap();
        let b = vec![finding("imei", "api.xiaomi.com", Some("Xiaomi"), "high", "encrypted")];
        fleet.add("b.json", &report(None, b)).unwrap();
        assert_eq!(fleet.devices[0].name, "redmi-1");
        assert_eq!(fleet.devices[1].name, "profile name", "the profile's name without a label");
        assert_eq!(fleet.devices[1].model.as_deref(), Some("Redmi 1S"));
        let x = &fleet.cells[&(0, "Xiaomi".to_owned())];
        assert_eq!(x.data.iter().collect::<Vec<_>>(), ["imei", "imsi"]);
        assert_eq!(
            (x.severity, x.cleartext, x.abroad, x.count),
            (Severity::Critical, true, true, 4)
        );
        assert_eq!(fleet.parties(), [("Xiaomi".to_owned(), 2), ("ads.example".to_owned(), 1)]);
        assert_eq!(fleet.by_kind()[&("imei", "Xiaomi")], ["redmi-1", "profile name"]);
        let exposed: Vec<_> =
            fleet.cleartext_abroad().map(|(d, p, _)| (d.name.as_str(), p)).collect();
        assert_eq!(exposed, [("redmi-1", "Xiaomi")]);
    }

    #[test]
    fn fleets_append_in_order() {
        let one = |name: &str, host: &str| {
            let mut f = Fleet::default();
            let r = report(Some(name), vec![finding("imei", host, None, "high", "cleartext")]);
            f.add(name, &r).unwrap();
            f
        };
        let mut all = Fleet::default();
        all.add(
            "a",
            &report(Some("a"), vec![finding("imsi", "x.example", None, "low", "encrypted")]),
        )
        .unwrap();
        for f in [one("b", "y.example"), one("c", "z.example")] {
            all.append(f);
        }
        let mut direct = Fleet::default();
        direct
            .add(
                "a",
                &report(Some("a"), vec![finding("imsi", "x.example", None, "low", "encrypted")]),
            )
            .unwrap();
        for (n, h) in [("b", "y.example"), ("c", "z.example")] {
            direct
                .add(n, &report(Some(n), vec![finding("imei", h, None, "high", "cleartext")]))
                .unwrap();
        }
        assert_eq!(all, direct);
    }

    #[test]
    fn what_is_not_a_report_is_refused_with_where() {
        let mut fleet = Fleet::default();
        assert!(fleet.add("x", &json!({ "schema": "phonehome.diff/1" })).is_err());
        let bad = json!({ "schema": "phonehome.report/1", "findings": [{ "data": "imei" }] });
        let e = fleet.add("x", &bad).unwrap_err();
        assert!(e.0.contains("findings[0]: no \"host\""), "{e}");
        assert_eq!(fleet, Fleet::default(), "a bad report adds nothing");
    }
}
