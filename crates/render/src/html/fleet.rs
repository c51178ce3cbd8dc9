//! The fleet page of `phonehome fleet`: the headline, then devices (rows) by parties (columns),
//! each cell the kinds of data that device sent that party, coloured by severity; then who
//! receives what. The report's style sheet plus a few rules, allowed by hash; no script; every
//! string escaped.

use std::fmt::Write as _;

use report::fleet::{Cell, Fleet};

use super::{CSS, Esc, badge};

const FLEET_CSS: &str = "\
table.fleet td.cell { font-size: .9rem; }\n\
table.fleet td.sev-critical { background: #fde2e1; }\n\
table.fleet td.sev-high { background: #fdebd3; }\n\
table.fleet td.sev-medium { background: #fdf6d3; }\n\
table.fleet td.sev-low, table.fleet td.sev-info { background: #eef2f7; }\n\
table.fleet th.party { vertical-align: bottom; }\n";

/// The page (see the module doc); `words` writes a cell.
pub(crate) fn page(f: &Fleet, words: &dyn Fn(&Cell) -> String) -> String {
    let style = format!("{CSS}{FLEET_CSS}");
    let title = format!("phonehome fleet: {} devices", f.devices.len());
    let mut out = String::with_capacity(16 * 1024 + 256 * f.cells.len());
    super::page_start(&mut out, &title, &crate::fleet::headline(f), &style);
    let parties = f.parties();
    out.push_str(
        "<section id=\"matrix\"><h2>Devices and parties</h2><table class=\"fleet\"><thead><tr>\
         <th>Device</th><th>Model</th><th>Firmware</th><th>Verdict</th>",
    );
    for (p, n) in &parties {
        let _ = write!(out, "<th class=\"party\" title=\"{n} devices\">{}</th>", Esc(p));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, d) in f.devices.iter().enumerate() {
        let _ = write!(
            out,
            "<tr data-device=\"{}\"><th>{}</th><td>{}</td><td>{}</td><td>{}</td>",
            Esc(&d.name),
            Esc(&d.name),
            Esc(d.model.as_deref().unwrap_or("")),
            Esc(d.firmware.as_deref().unwrap_or("")),
            Esc(&d.verdict.as_deref().map_or("INCOMPLETE".to_owned(), str::to_uppercase)),
        );
        for (p, _) in &parties {
            match f.cells.get(&(i, p.clone())) {
                Some(c) => {
                    let _ = write!(
                        out,
                        "<td class=\"cell sev-{}\" data-party=\"{}\">{}</td>",
                        c.severity.as_str(),
                        Esc(p),
                        Esc(&words(c))
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>\n");
    out.push_str(
        "<section id=\"by-kind\"><h2>Who receives what</h2><table><thead><tr><th>Data</th>\
         <th>Party</th><th>Devices</th></tr></thead><tbody>",
    );
    for ((kind, party), names) in f.by_kind() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}: {}</td></tr>",
            Esc(&crate::fleet::kind_words(kind)),
            Esc(party),
            names.len(),
            Esc(&names.join(", "))
        );
    }
    out.push_str("</tbody></table></section>\n");
    let abroad: Vec<_> = f.cleartext_abroad().collect();
    if !abroad.is_empty() {
        out.push_str("<section id=\"abroad\"><h2>Sent in cleartext to another country</h2><ul>");
        for (d, p, c) in abroad {
            let _ = write!(
                out,
                "<li>{} {} to {}: {}</li>",
                badge(c.severity),
                Esc(&d.name),
                Esc(p),
                Esc(&words(c))
            );
        }
        out.push_str("</ul></section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}
