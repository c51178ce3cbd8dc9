//! The tables of the HTML report: destinations (sortable), findings grouped by destination,
//! address-book uploads, captures, and the device and data sources.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use capture::Timestamp;
use pipeline::time::rfc3339;

use super::{
    Esc, badge, country_label, exposure_html, human_bytes, protection_html, protection_rank,
    time_html,
};
use report::summary::{Summary, UNKNOWN_COUNTRY, data_words, party_name};
use report::{Destination, Evidence, Finding, Report, Source};

pub(super) fn destinations(out: &mut String, report: &Report, start: Option<Timestamp>) {
    out.push_str(
        "<section id=\"destinations-section\"><h2>Destinations</h2>\
         <p class=\"muted small\">One row per host the device contacted, in order of first contact.<span class=\"screen-only\"> \
         Click a column header to sort.</span></p><div class=\"scroll\"><table id=\"destinations\"><thead><tr>\
         <th data-key=\"host\">Host</th><th data-key=\"party\">Party</th>\
         <th data-key=\"country\">Country</th><th data-key=\"asn\" data-type=\"num\">Network</th>\
         <th data-key=\"protection\" data-type=\"num\">Protection</th>\
         <th data-key=\"severity\" data-type=\"num\">Severity</th>\
         <th data-key=\"findings\" data-type=\"num\" class=\"num\">Findings</th>\
         <th data-key=\"bytes\" data-type=\"num\" class=\"num\">Sent</th>\
         <th data-key=\"received\" data-type=\"num\" class=\"num\">Received</th>\
         <th data-key=\"first\" data-type=\"num\" class=\"num\">First seen</th>\
         </tr></thead><tbody>",
    );
    for (i, d) in report.destinations.iter().enumerate() {
        let host = Esc(&d.host);
        let _ =
            write!(out, "<tr data-host=\"{host}\"><td class=\"host break\" data-sort=\"{host}\">");
        if d.findings > 0 {
            let _ = write!(out, "<a href=\"#dest-{i}\">{host}</a>");
        } else {
            let _ = write!(out, "{host}");
        }
        let ips: Vec<&str> = d.ips.iter().map(String::as_str).collect();
        let protocols: Vec<&str> = d.protocols.iter().copied().collect();
        let _ = write!(
            out,
            "<span class=\"reason\">{} &middot; {} &middot; {} flow{}</span>",
            Esc(&ips.join(", ")),
            Esc(&protocols.join(", ")),
            d.flows,
            if d.flows == 1 { "" } else { "s" }
        );
        if !d.cnames.is_empty() {
            let _ = write!(out, "<span class=\"reason\">via {}</span>", Esc(&d.cnames.join(" → ")));
        }
        let party = party_name(d);
        let category = d.party.as_ref().map_or("unknown", |p| p.category);
        let _ = write!(
            out,
            "</td><td data-sort=\"{0}\">{0}<span class=\"reason\">{1}</span></td>",
            Esc(&party),
            Esc(category)
        );
        let geo = d.geo.as_ref();
        let code = geo.and_then(|g| g.country.as_deref()).unwrap_or(UNKNOWN_COUNTRY);
        let _ = write!(out, "<td data-sort=\"{}\">{}", Esc(code), Esc(&country_label(code)));
        if let Some(why) = geo.and_then(|g| g.reason).filter(|_| code == UNKNOWN_COUNTRY) {
            let _ = write!(out, "<span class=\"reason\">{}</span>", Esc(why));
        }
        if d.leaves_country == Some(true) {
            out.push_str("<span class=\"reason\">abroad</span>");
        }
        let asn = geo.and_then(|g| g.asn);
        let _ = write!(out, "</td><td data-sort=\"{}\">", asn.unwrap_or(0));
        match (asn, geo.and_then(|g| g.as_org.as_deref())) {
            (Some(n), Some(org)) => {
                let _ = write!(out, "AS{n}<span class=\"reason\">{}</span>", Esc(org));
            }
            (Some(n), None) => {
                let _ = write!(out, "AS{n}");
            }
            (None, Some(org)) => {
                let _ = write!(out, "{}", Esc(org));
            }
            (None, None) => out.push_str("<span class=\"muted\">&mdash;</span>"),
        }
        let _ = write!(
            out,
            "</td><td data-sort=\"{}\">{}</td><td class=\"sev\" data-sort=\"{}\">{}<span class=\"reason\">{}</span></td>",
            protection_rank(d.protection),
            protection_html(d.protection, &d.protection_label()),
            d.severity as u8,
            badge(d.severity),
            Esc(&d.severity_reason),
        );
        let _ = write!(out, "<td class=\"num\" data-sort=\"{}\">{}</td>", d.findings, d.findings);
        let _ = write!(
            out,
            "<td class=\"num\" data-sort=\"{0}\" title=\"{0} bytes\">{1}</td>\
             <td class=\"num\" data-sort=\"{2}\" title=\"{2} bytes\">{3}</td>",
            d.bytes_sent,
            human_bytes(d.bytes_sent),
            d.bytes_received,
            human_bytes(d.bytes_received)
        );
        let _ = write!(
            out,
            "<td class=\"num\" data-sort=\"{}\">{}</td></tr>",
            d.first_seen.0.saturating_sub(start.map_or(0, |s| s.0)),
            time_html(start, d.first_seen)
        );
    }
    out.push_str("</tbody></table></div>");
    if report.destinations.is_empty() {
        out.push_str("<p class=\"muted\">The capture holds no traffic to any destination.</p>");
    }
    out.push_str("</section>\n");
}

fn evidence_html(e: &Evidence) -> String {
    format!(
        "<span class=\"mono\">{}</span> &middot; frame {} &middot; flow {} &middot; offset {} \
         &middot; <code>{}</code> = <code class=\"break\">{}</code>",
        Esc(&e.file),
        e.frame,
        e.flow,
        e.offset,
        Esc(&e.field),
        Esc(&e.value)
    )
}

fn finding_row(out: &mut String, f: &Finding, start: Option<Timestamp>) {
    let source = match f.source {
        Source::Profile => "profile".to_string(),
        Source::Heuristic { confidence } if f.reason.is_empty() => {
            format!("heuristic, confidence {confidence:.2}")
        }
        Source::Heuristic { confidence } => {
            format!("heuristic ({}), confidence {confidence:.2}", Esc(f.reason))
        }
    };
    let _ = write!(
        out,
        "<tr data-finding><td class=\"sev\">{}<span class=\"reason\">{}</span></td>\
         <td>{}<span class=\"reason\">{source}</span></td><td class=\"item break\"><code>{}</code></td>\
         <td class=\"break\"><code>{}</code></td><td class=\"break\"><code>{}</code> {}",
        badge(f.severity),
        Esc(&f.severity_reason),
        Esc(data_words(f.data)),
        Esc(&f.item_shown()),
        Esc(&f.encoding),
        Esc(&f.where_),
        exposure_html(f.exposure),
    );
    if let Some(n) = f.stopped_note() {
        let _ = write!(out, " <span class=\"tag\">{}</span>", Esc(&n));
    }
    if f.leaves_country == Some(true) {
        let to = f.country.as_deref().unwrap_or(UNKNOWN_COUNTRY);
        let _ = write!(out, " <span class=\"tag\">abroad: {}</span>", Esc(to));
    }
    let _ = write!(
        out,
        "</td><td class=\"num\">{}</td><td class=\"nowrap\">{}",
        f.count,
        time_html(start, f.first_seen)
    );
    if f.last_seen != f.first_seen {
        let _ = write!(out, "<br>to {}", time_html(start, f.last_seen));
    }
    out.push_str("</td><td class=\"ev\"><ul class=\"evidence\">");
    for e in &f.evidence {
        let _ = write!(out, "<li>{}</li>", evidence_html(e));
    }
    out.push_str("</ul></td></tr>");
}

pub(super) fn findings(out: &mut String, report: &Report, start: Option<Timestamp>) {
    out.push_str("<section id=\"findings\"><h2>Findings by destination</h2>");
    if report.findings.is_empty() {
        out.push_str(
            "<p class=\"muted\">No personal data was found in what could be read.</p></section>\n",
        );
        return;
    }
    let mut by_host: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_host.entry(f.host.as_str()).or_default().push(f);
    }
    // Destinations in first-contact order, then hosts that are no destination (data carried in
    // DNS query names) in order of their first finding.
    let mut groups: Vec<(String, Option<&Destination>, Vec<&Finding>)> = Vec::new();
    for (i, d) in report.destinations.iter().enumerate() {
        if let Some(list) = by_host.remove(d.host.as_str()) {
            groups.push((format!("dest-{i}"), Some(d), list));
        }
    }
    let mut rest: Vec<Vec<&Finding>> = by_host.into_values().collect();
    rest.sort_by_key(|l| l[0].first_seen);
    for (j, list) in rest.into_iter().enumerate() {
        groups.push((format!("dns-{j}"), None, list));
    }
    for (id, dest, list) in groups {
        let worst = list.iter().map(|f| f.severity).max().unwrap_or_default();
        let host = &list[0].host;
        let _ = write!(
            out,
            "<div class=\"group\" id=\"{id}\"><h3><span class=\"break\">{}</span> {}</h3><p class=\"meta\">",
            Esc(host),
            badge(worst)
        );
        let party = list[0].party.as_ref();
        let mut meta = vec![match party {
            Some(p) => {
                let hq = p.country.as_deref().unwrap_or("unknown");
                format!("{} ({}, headquarters {})", Esc(&p.name), Esc(p.category), Esc(hq))
            }
            None => match dest.and_then(|d| d.cert_owner()) {
                Some(o) => format!("unknown party (certificate: {})", Esc(o)),
                None => "unknown party".to_string(),
            },
        }];
        match dest {
            Some(d) => {
                let ips: Vec<&str> = d.ips.iter().map(String::as_str).collect();
                let code = d.geo.as_ref().and_then(|g| g.country.as_deref()).unwrap_or(UNKNOWN_COUNTRY);
                meta.push(format!(
                    "server {} in {}",
                    Esc(&ips.join(", ")),
                    Esc(&country_label(code))
                ));
                meta.push(protection_html(d.protection, &d.protection_label()));
            }
            None => meta.push(
                "carried inside DNS query names for this domain, readable by any resolver on the way"
                    .to_string(),
            ),
        }
        meta.push(format!("{} finding{}", list.len(), if list.len() == 1 { "" } else { "s" }));
        out.push_str(&meta.join(" &middot; "));
        out.push_str(
            "</p><div class=\"scroll\"><table class=\"findings\"><thead><tr><th>Severity</th>\
             <th>Data</th><th>Item</th><th>Encoding</th><th>Where</th><th class=\"num\">Count</th>\
             <th>Seen</th><th>Evidence</th></tr></thead><tbody>",
        );
        for f in list {
            finding_row(out, f, start);
        }
        out.push_str("</tbody></table></div></div>");
    }
    out.push_str("</section>\n");
}

pub(super) fn uploads(out: &mut String, report: &Report, start: Option<Timestamp>) {
    out.push_str("<section id=\"uploads\"><h2>Address-book uploads</h2>");
    if report.address_book_uploads.is_empty() {
        out.push_str(
            "<p class=\"muted\">No message carried several contacts of the address book.</p></section>\n",
        );
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Host</th><th class=\"num\">Contacts</th>\
         <th>Time</th><th>Evidence</th></tr></thead><tbody>",
    );
    for u in &report.address_book_uploads {
        let _ = write!(
            out,
            "<tr data-upload><td class=\"break\">{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td>{}</td></tr>",
            Esc(&u.host),
            u.contacts,
            time_html(start, u.time),
            evidence_html(&u.evidence)
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

/// Connections the VPN gateway refused (nothing without any).
pub(super) fn refused(out: &mut String, report: &Report, start: Option<Timestamp>) {
    if !report.redacted.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"notice\" data-notice=\"redacted\">{}</p>",
            Esc(&crate::text::redacted_line(report))
        );
    }
    if report.refused_total == 0 {
        return;
    }
    let _ = write!(
        out,
        "<section id=\"refused\"><h2>Refused by the gateway</h2><p>{} connection{} refused.</p>\
         <div class=\"scroll\"><table><thead><tr><th>Time</th><th>Device</th><th>Server</th>\
         <th>Matched</th><th>Rule</th></tr></thead><tbody>",
        report.refused_total,
        if report.refused_total == 1 { "" } else { "s" }
    );
    for r in &report.refused {
        let _ = write!(
            out,
            "<tr data-refused><td class=\"nowrap\">{}</td><td>{}</td><td class=\"break\">{} {}:{}</td>\
             <td class=\"break\">{}</td><td class=\"break\">{}</td></tr>",
            time_html(start, r.time),
            Esc(r.device.as_deref().unwrap_or("")),
            Esc(r.transport),
            Esc(&r.server),
            r.port,
            Esc(&r.matched),
            Esc(&r.rule)
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

/// What each app sent, when the capture says (nothing otherwise).
pub(super) fn apps(out: &mut String, s: &Summary) {
    if s.apps.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"apps\"><h2>Apps</h2><p>Which app sent what, as the capture says \
         (PCAPdroid's metadata).</p><div class=\"scroll\"><table><thead><tr><th>App</th>\
         <th>Severity</th><th>Sent</th><th class=\"num\">Findings</th></tr></thead><tbody>",
    );
    for a in &s.apps {
        let _ = write!(
            out,
            "<tr data-app=\"{}\"><td class=\"break\">{}</td><td>{}</td><td class=\"break\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            Esc(&a.app),
            Esc(&a.app),
            badge(a.severity),
            Esc(&a.sentence()),
            a.findings
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

pub(super) fn captures(out: &mut String, report: &Report) {
    out.push_str(
        "<section id=\"captures\"><h2>Captures</h2><div class=\"scroll\"><table><thead><tr>\
         <th>Path</th><th>SHA-256</th><th>Format</th><th class=\"num\">Size</th>\
         <th class=\"num\">Packets</th><th>Time span</th><th>Warnings and errors</th></tr></thead><tbody>",
    );
    for c in &report.captures {
        let _ = write!(
            out,
            "<tr><td class=\"break\"><code>{}</code></td><td class=\"hash\">",
            Esc(&c.path)
        );
        match &c.sha256 {
            Some(h) => {
                let _ = write!(out, "<code class=\"break\" data-sha256=\"{0}\">{0}</code>", Esc(h));
            }
            None => out.push_str("<span class=\"muted\">not computed</span>"),
        }
        let format = match (c.format, c.compression) {
            (Some(f), Some(z)) if z != "none" => format!("{f}, {z}"),
            (Some(f), _) => f.to_string(),
            (None, _) => "unreadable".to_string(),
        };
        let _ = write!(
            out,
            "</td><td>{}</td><td class=\"num\" title=\"{} bytes\">{}</td><td class=\"num\">{}</td><td>",
            Esc(&format),
            c.size,
            human_bytes(c.size),
            c.packets
        );
        match (c.first_packet, c.last_packet) {
            (Some(a), Some(b)) => {
                let duration = ((b.0 - a.0).max(0) as f64 / 1e6).round() / 1e3;
                let _ = write!(
                    out,
                    "<span class=\"nowrap\">{}</span> to <span class=\"nowrap\">{}</span> ({duration} s)",
                    rfc3339(a),
                    rfc3339(b)
                );
            }
            _ => out.push_str("<span class=\"muted\">no packets</span>"),
        }
        out.push_str("</td><td>");
        if c.warnings.is_empty() && c.error.is_none() {
            out.push_str("<span class=\"muted\">none</span>");
        }
        if !c.warnings.is_empty() {
            out.push_str("<ul class=\"plain\">");
            for w in &c.warnings {
                let _ = write!(out, "<li class=\"warn\">{}</li>", Esc(w));
            }
            out.push_str("</ul>");
        }
        if let Some(e) = &c.error {
            let _ = write!(out, "<p class=\"err\">{}</p>", Esc(e));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></div>");
    if report.captures.is_empty() {
        out.push_str("<p class=\"muted\">No capture was read.</p>");
    }
    out.push_str("<h2>Device and data sources</h2><dl class=\"facts\">");
    let dash = "<span class=\"muted\">&mdash;</span>".to_string();
    let opt = |v: Option<&String>| v.map_or_else(|| dash.clone(), |v| Esc(v).to_string());
    match &report.device {
        Some(d) => {
            let country = d.country.as_ref().map(|c| country_label(c));
            let _ = write!(
                out,
                "<dt>Device</dt><dd>{}</dd><dt>Profile</dt><dd><code>{}</code></dd>\
                 <dt>Country</dt><dd>{}</dd><dt>Manufacturer</dt><dd>{}</dd>",
                opt(d.name.as_ref()),
                opt(d.profile.as_ref()),
                opt(country.as_ref()),
                opt(d.manufacturer.as_ref()),
            );
        }
        None => out.push_str(
            "<dt>Device</dt><dd>No device profile was given: only the profile-less heuristics ran.</dd>",
        ),
    }
    match &report.geo_source {
        Some(g) => {
            let _ = write!(out, "<dt>Countries and networks</dt><dd>{}</dd>", Esc(g));
        }
        None => {
            let _ = write!(
                out,
                "<dt>Countries and networks</dt><dd data-notice=\"geo\">countries unknown: run \
                 <code>scripts/geo-setup.sh</code> or pass <code>--geo-db</code> ({})</dd>",
                Esc(report::geo::SETUP_HINT)
            );
        }
    }
    out.push_str("</dl></section>\n");
}
