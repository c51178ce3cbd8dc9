//! vCard 2.1/3.0/4.0 contacts through `calcard` (the one parser of the survey that reads Android's
//! 2.1 exports with quoted-printable UTF-8). We keep the name (`FN`, else `N`), the `TEL` values
//! and the `EMAIL` values of each card.

use calcard::vcard::{VCard, VCardProperty, VCardValue};
use calcard::{Entry, Parser};

/// One card's searchable fields, as written in the file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Card {
    /// `FN`, else the non-empty parts of `N` (given names first), else empty.
    pub(crate) name: String,
    /// `TEL` values, `tel:` URI scheme and parameters removed.
    pub(crate) phone: Vec<String>,
    /// `EMAIL` values.
    pub(crate) email: Vec<String>,
}

/// Reads every card of a vCard file. An error is `(card index, 1-based; message)`.
/// Invalid bytes are replaced (U+FFFD) rather than refused: exports are often not quite UTF-8.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<Card>, (usize, String)> {
    let text = String::from_utf8_lossy(data);
    let mut parser = Parser::new(&text);
    let mut cards = Vec::new();
    loop {
        let index = cards.len() + 1;
        match parser.entry() {
            Entry::VCard(v) => cards.push(card(&v)),
            Entry::Eof => break,
            Entry::InvalidLine(line) => {
                let line: String = line.chars().take(80).collect();
                return Err((index, format!("invalid line {line:?}")));
            }
            Entry::ICalendar(_) => return Err((index, "an iCalendar object, not a vCard".into())),
            Entry::UnterminatedComponent(c) => return Err((index, format!("{c} not terminated"))),
            Entry::UnexpectedComponentEnd { found, .. } => {
                return Err((index, format!("unexpected END:{}", found.as_str())));
            }
            Entry::TooManyComponents => return Err((index, "too many nested components".into())),
            _ => return Err((index, "unreadable".into())),
        }
    }
    if cards.is_empty() && !text.trim().is_empty() {
        return Err((1, "no BEGIN:VCARD found".into()));
    }
    Ok(cards)
}

fn texts(values: &[VCardValue]) -> impl Iterator<Item = &str> {
    values.iter().flat_map(|v| match v {
        VCardValue::Text(t) => vec![t.as_str()],
        VCardValue::Component(parts) => parts.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    })
}

fn card(v: &VCard) -> Card {
    let mut c = Card::default();
    let mut n_name = String::new();
    for e in &v.entries {
        match e.name {
            VCardProperty::Fn if c.name.is_empty() => {
                c.name = texts(&e.values).collect::<Vec<_>>().join(" ").trim().to_owned();
            }
            VCardProperty::N if n_name.is_empty() => {
                // N = family; given; additional; prefixes; suffixes.
                let parts: Vec<&str> = texts(&e.values).collect();
                let order = [3, 1, 2, 0, 4];
                let words: Vec<&str> = order
                    .iter()
                    .filter_map(|&i| parts.get(i).map(|s| s.trim()))
                    .filter(|s| !s.is_empty())
                    .collect();
                n_name = words.join(" ");
            }
            VCardProperty::Tel => {
                for t in texts(&e.values) {
                    let t = t.trim();
                    let t = t.strip_prefix("tel:").or_else(|| t.strip_prefix("TEL:")).unwrap_or(t);
                    let t = t.split(';').next().unwrap_or("").trim();
                    if !t.is_empty() {
                        c.phone.push(t.to_owned());
                    }
                }
            }
            VCardProperty::Email => {
                for t in texts(&e.values) {
                    let t = t.trim().strip_prefix("mailto:").unwrap_or(t.trim());
                    if !t.is_empty() {
                        c.email.push(t.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    if c.name.is_empty() {
        c.name = n_name;
    }
    c
}
