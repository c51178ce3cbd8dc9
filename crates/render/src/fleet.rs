//! The fleet summary (`phonehome fleet`): devices × parties × kinds of data, in the terminal, as
//! JSON (`phonehome.fleet/1`, `schema/fleet.schema.json`) and as one self-contained HTML page.

use std::fmt::Write as _;

use report::fleet::{Cell, Fleet};
use report::summary::data_words;
use serde_json::{Value, json};

/// The schema identifier of the JSON document.
pub const SCHEMA: &str = "phonehome.fleet/1";

/// How a kind of data is written (`IMEI`, `phone number`; the raw name when unknown).
pub(crate) fn kind_words(kind: &str) -> String {
    detect::DataKind::parse(kind).map_or_else(|| kind.to_owned(), |k| data_words(k).to_owned())
}

/// A cell as one phrase: `IMEI, IMSI (cleartext, abroad: CN)`.
fn cell_words(c: &Cell) -> String {
    let kinds: Vec<String> = c.data.iter().map(|k| kind_words(k)).collect();
    let mut notes = Vec::new();
    if c.cleartext {
        notes.push("cleartext".to_owned());
    }
    if c.abroad {
        let countries: Vec<&str> = c.countries.iter().map(String::as_str).collect();
        notes.push(format!("abroad: {}", countries.join(", ")));
    }
    if notes.is_empty() {
        kinds.join(", ")
    } else {
        format!("{} ({})", kinds.join(", "), notes.join("; "))
    }
}

/// The one-line verdict of the fleet.
pub fn headline(f: &Fleet) -> String {
    let with = f.devices.iter().filter(|d| d.findings > 0).count();
    let mut abroad: Vec<&str> = f.cleartext_abroad().map(|(d, _, _)| d.name.as_str()).collect();
    abroad.dedup();
    format!(
        "{} devices, {with} sent personal data, {} in cleartext to a server in another country.",
        f.devices.len(),
        abroad.len()
    )
}

/// The terminal table.
pub fn text(f: &Fleet) -> String {
    let mut out = format!("Fleet: {}\n", headline(f));
    for (i, d) in f.devices.iter().enumerate() {
        let what = [d.model.as_deref(), d.firmware.as_deref()].into_iter().flatten();
        let what: Vec<&str> = what.collect();
        let verdict = d.verdict.as_deref().map_or("INCOMPLETE".to_owned(), str::to_uppercase);
        let _ = write!(out, "\n{}", d.name);
        if !what.is_empty() {
            let _ = write!(out, " ({})", what.join(", "));
        }
        let _ = writeln!(out, ": {verdict}, {} findings  [{}]", d.findings, d.report);
        let mut cells: Vec<(&str, &Cell)> = f
            .cells
            .range((i, String::new())..)
            .take_while(|((d, _), _)| *d == i)
            .map(|((_, p), c)| (p.as_str(), c))
            .collect();
        cells.sort_by(|a, b| b.1.severity.cmp(&a.1.severity).then_with(|| a.0.cmp(b.0)));
        for (party, c) in cells {
            let _ = writeln!(
                out,
                "  {:<8} {party}: {}",
                c.severity.as_str().to_uppercase(),
                cell_words(c)
            );
        }
    }
    out.push_str("\nWho receives what (kind of data -> party: devices):\n");
    for ((kind, party), names) in f.by_kind() {
        let _ = writeln!(
            out,
            "  {} -> {party}: {} ({})",
            kind_words(kind),
            names.len(),
            names.join(", ")
        );
    }
    let abroad: Vec<String> = f
        .cleartext_abroad()
        .map(|(d, p, c)| format!("{} -> {p} ({})", d.name, cell_words(c)))
        .collect();
    if !abroad.is_empty() {
        out.push_str("\nSent in cleartext to a server in another country:\n");
        for a in abroad {
            let _ = writeln!(out, "  {a}");
        }
    }
    if f.left_out > 0 {
        let _ = writeln!(out, "\n{} devices or cells past the limits were left out.", f.left_out);
    }
    out
}

/// The JSON document.
pub fn json(f: &Fleet) -> Value {
    let devices: Vec<Value> = f
        .devices
        .iter()
        .map(|d| {
            json!({
                "device": d.name, "model": d.model, "firmware": d.firmware, "report": d.report,
                "verdict": d.verdict, "complete": d.complete, "findings": d.findings,
            })
        })
        .collect();
    let cells: Vec<Value> = f
        .cells
        .iter()
        .filter_map(|((d, party), c)| {
            Some(json!({
                "device": f.devices.get(*d)?.name, "party": party, "data": c.data,
                "severity": c.severity.as_str(), "cleartext": c.cleartext, "abroad": c.abroad,
                "countries": c.countries, "count": c.count,
            }))
        })
        .collect();
    let by_kind: Vec<Value> = f
        .by_kind()
        .into_iter()
        .map(|((kind, party), names)| json!({ "data": kind, "party": party, "devices": names }))
        .collect();
    json!({
        "schema": SCHEMA,
        "headline": headline(f),
        "devices": devices,
        "cells": cells,
        "by_kind": by_kind,
        "left_out": f.left_out,
    })
}

/// The page: the headline, then a table of devices (rows) by parties (columns), each cell the
/// kinds of data sent, coloured by severity.
pub fn html(f: &Fleet) -> String {
    crate::html::fleet_page(f, &cell_words)
}
