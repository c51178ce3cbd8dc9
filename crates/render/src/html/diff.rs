//! The before/after page of `phonehome diff`: the two runs side by side, then every change worst
//! first with its before and after values in two columns. The report's style sheet plus a few
//! rules of its own, allowed by hash; no script; every string escaped.

use std::fmt::Write as _;

use report::diff::{Diff, Run};

use super::{CSS, Esc, badge};
use crate::diff::{headline, sentence};

const DIFF_CSS: &str = "\
.runs { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin: 18px 0; }\n\
.run { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; background: var(--panel); }\n\
.run h2 { margin: 0 0 6px; font-size: 1.05rem; }\n\
.run dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0; }\n\
.run dt { color: var(--muted); }\n\
tr.worse td:first-child { border-left: 4px solid var(--critical); }\n\
tr.better td:first-child { border-left: 4px solid #2f855a; }\n\
tr.neutral td:first-child { border-left: 4px solid var(--line); }\n\
td.before, td.after { width: 22%; }\n";

/// The page (see the module doc).
pub(crate) fn page(d: &Diff) -> String {
    let style = format!("{CSS}{DIFF_CSS}");
    let title = format!("phonehome diff: {} -> {}", d.before.label, d.after.label);
    let mut out = String::with_capacity(16 * 1024 + 512 * d.changes.len());
    super::page_start(&mut out, &title, &headline(d), &style);
    out.push_str("<section class=\"runs\">");
    for (name, r) in [("Before", &d.before), ("After", &d.after)] {
        run_card(&mut out, name, r);
    }
    out.push_str("</section>\n");
    let _ = write!(
        out,
        "<section id=\"changes\"><h2>Changes, worst first</h2>\
         <p>Unchanged: <span data-metric=\"unchanged_destinations\">{}</span> destinations, \
         <span data-metric=\"unchanged_data_items\">{}</span> data items.</p>",
        d.same_destinations, d.same_items
    );
    if d.changes.is_empty() {
        out.push_str("<p class=\"empty\" id=\"no-change\">No change.</p>");
    } else {
        out.push_str(
            "<table class=\"changes\"><thead><tr><th>Severity</th><th>Change</th>\
             <th class=\"before\">Before</th><th class=\"after\">After</th></tr></thead><tbody>",
        );
        for c in &d.changes {
            let class = c.direction.as_str();
            let _ = write!(
                out,
                "<tr class=\"{class}\" data-kind=\"{}\"><td>{}</td><td>{}</td>\
                 <td class=\"before\">{}</td><td class=\"after\">{}</td></tr>",
                c.kind.as_str(),
                badge(c.severity),
                Esc(&sentence(c)),
                Esc(c.before.as_deref().unwrap_or("")),
                Esc(c.after.as_deref().unwrap_or("")),
            );
        }
        out.push_str("</tbody></table>");
    }
    let _ = write!(
        out,
        "</section>\n</main>\n<footer>phonehome {} &middot; diff schema {}</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        crate::diff::DIFF_SCHEMA
    );
    out
}

fn run_card(out: &mut String, name: &str, r: &Run) {
    let _ = write!(out, "<div class=\"run\"><h2>{name}: {}</h2><dl>", Esc(&r.label));
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", Esc(&v));
    };
    row("Verdict", r.verdict.clone().unwrap_or_else(|| "none".into()));
    row("Destinations", r.destinations.len().to_string());
    row("Data items", r.items.len().to_string());
    if r.duration_s > 0.0 {
        row("Capture", format!("{:.2} s", r.duration_s));
    }
    row("Read", if r.complete { "everything".into() } else { "not everything".into() });
    out.push_str("</dl></div>");
}
