//! Statistics over a time window of the query log (`phonehome guard stats`).
//!
//! Contract:
//! - [`stats()`] opens the log read-only (it never creates or changes the file, and works while the
//!   guard is writing: WAL readers see the last commit) and reads the rows of the window
//!   `[since_ms, until_ms)` once, aggregating in memory: totals per verdict, the top blocked and
//!   top allowed names, per client, per party.
//! - "Allowed" in the statistics means answered normally: [`Verdict::Allowed`] plus
//!   [`Verdict::Cached`]. Refused, failed and malformed queries count in the totals only.
//! - Parties come from [`Entities`]: each distinct name is attributed once; a blocked name whose
//!   rule matched another name (a CNAME target, the first word of [`crate::QueryRecord::rule`]) is
//!   attributed as a chain, so a cloaked tracker counts for the tracker. Names no entity claims
//!   count under [`Stats::unattributed`].
//! - Every list is sorted by its count (descending), ties by name, and cut to [`StatsQuery::top`]
//!   entries; the `*_total` fields give the uncut sizes. The result serialises to JSON as is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use report::attribution::{Entities, Entity};
use rusqlite::params;
use serde::Serialize;

use super::{LogError, now_ms, open_reader};
use crate::Verdict;

/// Which rows to summarise and how much to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    /// First millisecond of the window (inclusive); `None`: from the first row.
    pub since_ms: Option<i64>,
    /// End of the window (exclusive); `None`: up to the last row.
    pub until_ms: Option<i64>,
    /// Entries per list (top names, clients, parties, top names per client).
    pub top: usize,
    /// A user entity file on top of the built-in database (see
    /// [`Entities::load_with`]); only read by [`stats`].
    pub entities: Option<PathBuf>,
}

impl Default for StatsQuery {
    fn default() -> Self {
        Self { since_ms: None, until_ms: None, top: 10, entities: None }
    }
}

impl StatsQuery {
    /// The window of the last `span` up to now (wall clock), `top` entries per list.
    pub fn last(span: Duration, top: usize) -> Self {
        let span = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
        Self { since_ms: Some(now_ms().saturating_sub(span)), top, ..Self::default() }
    }
}

/// Queries per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerdictTotals {
    /// [`Verdict::Allowed`].
    pub allowed: u64,
    /// [`Verdict::Cached`].
    pub cached: u64,
    /// [`Verdict::Blocked`].
    pub blocked: u64,
    /// [`Verdict::Refused`].
    pub refused: u64,
    /// [`Verdict::Failed`].
    pub failed: u64,
    /// [`Verdict::Malformed`].
    pub malformed: u64,
    /// Rows whose verdict this version does not know.
    #[serde(skip_serializing_if = "is_zero")]
    pub unknown: u64,
}

impl VerdictTotals {
    fn add(&mut self, v: Option<Verdict>) {
        *match v {
            Some(Verdict::Allowed) => &mut self.allowed,
            Some(Verdict::Cached) => &mut self.cached,
            Some(Verdict::Blocked) => &mut self.blocked,
            Some(Verdict::Refused) => &mut self.refused,
            Some(Verdict::Failed) => &mut self.failed,
            Some(Verdict::Malformed) => &mut self.malformed,
            None => &mut self.unknown,
        } += 1;
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One name and how often it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCount {
    /// The name.
    pub name: String,
    /// Queries counted (blocked ones in a top-blocked list, allowed ones in a top-allowed list,
    /// all in a client's list).
    pub queries: u64,
    /// The organisation behind it, if known.
    pub party: Option<String>,
    /// The organisation's category (`analytics`, `manufacturer`...).
    pub category: Option<&'static str>,
    /// For blocked names: a rule that blocked it (the first seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// One client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientStats {
    /// The client's address.
    pub client: String,
    /// All its queries.
    pub queries: u64,
    /// Its blocked queries.
    pub blocked: u64,
    /// Its allowed (and cached) queries.
    pub allowed: u64,
    /// Distinct names it asked for.
    pub names: u64,
    /// The names it asked for most (every verdict).
    pub top_names: Vec<NameCount>,
}

/// One organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyStats {
    /// The organisation (`Xiaomi`).
    pub party: String,
    /// Its category.
    pub category: &'static str,
    /// Its headquarters country (ISO 3166 alpha-2), when the entity database knows it.
    pub country: Option<String>,
    /// Queries for its names (every verdict).
    pub queries: u64,
    /// Of which blocked.
    pub blocked: u64,
    /// Of which allowed (and cached).
    pub allowed: u64,
    /// Distinct names of it asked for.
    pub names: u64,
}

/// Queries for names no entity claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Unattributed {
    /// Queries (every verdict, malformed ones with an empty name excluded).
    pub queries: u64,
    /// Of which blocked.
    pub blocked: u64,
    /// Of which allowed (and cached).
    pub allowed: u64,
    /// Distinct names.
    pub names: u64,
}

/// The summary of a window of the query log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// The window asked for (inclusive start), ms since the Unix epoch.
    pub since_ms: Option<i64>,
    /// The window asked for (exclusive end).
    pub until_ms: Option<i64>,
    /// Time of the first row in the window.
    pub first_ms: Option<i64>,
    /// Time of the last row in the window.
    pub last_ms: Option<i64>,
    /// Rows in the window.
    pub total: u64,
    /// Per verdict.
    pub verdicts: VerdictTotals,
    /// Distinct names asked for (non-empty).
    pub names_total: u64,
    /// Distinct clients.
    pub clients_total: u64,
    /// Distinct parties.
    pub parties_total: u64,
    /// The most blocked names.
    pub top_blocked: Vec<NameCount>,
    /// The most allowed names (allowed and cached).
    pub top_allowed: Vec<NameCount>,
    /// The clients with the most queries.
    pub clients: Vec<ClientStats>,
    /// The parties with the most blocked queries (then most queries).
    pub parties: Vec<PartyStats>,
    /// Names no entity claims.
    pub unattributed: Unattributed,
}

/// Summarises the window of `q` in the log at `path`, with the built-in entity database plus
/// [`StatsQuery::entities`].
pub fn stats(path: &Path, q: &StatsQuery) -> Result<Stats, LogError> {
    let entities = match &q.entities {
        Some(file) => Entities::load_with(file)?,
        None => Entities::builtin(),
    };
    stats_with(path, q, &entities)
}

#[derive(Default)]
struct NameAgg {
    queries: u64,
    blocked: u64,
    allowed: u64,
    rule: Option<String>,
}

#[derive(Default)]
struct ClientAgg {
    queries: u64,
    blocked: u64,
    allowed: u64,
    names: HashMap<u32, u64>,
}

/// Interned strings: one allocation per distinct value.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.ids.insert(s.to_owned(), id);
        self.values.push(s.to_owned());
        id
    }
}

/// [`stats`] with an entity database already loaded ([`StatsQuery::entities`] is ignored).
pub fn stats_with(path: &Path, q: &StatsQuery, entities: &Entities) -> Result<Stats, LogError> {
    let conn = open_reader(path)?;
    let read = LogError::sqlite(path, "read");
    let since = q.since_ms.unwrap_or(i64::MIN);
    let until = q.until_ms.unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare(
            "SELECT time_ms, client, name, verdict, rule FROM queries \
             WHERE time_ms >= ?1 AND time_ms < ?2",
        )
        .map_err(LogError::sqlite(path, "read"))?;
    let mut rows = stmt.query(params![since, until]).map_err(LogError::sqlite(path, "read"))?;

    let mut names = Interner::default();
    let mut clients = Interner::default();
    let mut by_name: Vec<NameAgg> = Vec::new();
    let mut by_client: Vec<ClientAgg> = Vec::new();
    let mut verdicts = VerdictTotals::default();
    let (mut first, mut last, mut total) = (None::<i64>, None::<i64>, 0u64);
    let text_of = |row: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<String> {
        Ok(match row.get_ref(i)? {
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            _ => String::new(),
        })
    };
    let mut scratch_client;
    let mut scratch_name;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(read(e)),
        };
        let get = |e| LogError::Sqlite { path: path.into(), what: "read", source: e };
        let time: i64 = row.get(0).map_err(get)?;
        scratch_client = text_of(row, 1).map_err(get)?;
        scratch_name = text_of(row, 2).map_err(get)?;
        let verdict = match row.get_ref(3).map_err(get)? {
            rusqlite::types::ValueRef::Text(t) => {
                std::str::from_utf8(t).ok().and_then(Verdict::parse)
            }
            _ => None,
        };
        total += 1;
        first = Some(first.map_or(time, |f| f.min(time)));
        last = Some(last.map_or(time, |l| l.max(time)));
        verdicts.add(verdict);
        let blocked = verdict == Some(Verdict::Blocked);
        let allowed = matches!(verdict, Some(Verdict::Allowed | Verdict::Cached));

        let c = clients.id(&scratch_client) as usize;
        if c == by_client.len() {
            by_client.push(ClientAgg::default());
        }
        let ca = &mut by_client[c];
        ca.queries += 1;
        ca.blocked += u64::from(blocked);
        ca.allowed += u64::from(allowed);
        if scratch_name.is_empty() {
            continue;
        }
        let n = names.id(&scratch_name);
        *ca.names.entry(n).or_default() += 1;
        let n = n as usize;
        if n == by_name.len() {
            by_name.push(NameAgg::default());
        }
        let na = &mut by_name[n];
        na.queries += 1;
        na.blocked += u64::from(blocked);
        na.allowed += u64::from(allowed);
        if blocked && na.rule.is_none() {
            na.rule = text_of(row, 4).ok().filter(|r| !r.is_empty());
        }
    }

    // Attribute each distinct name once.
    let party_of: Vec<Option<&Entity>> = names
        .values
        .iter()
        .zip(&by_name)
        .map(|(name, agg)| attribute(entities, name, agg.rule.as_deref()))
        .collect();
    let name_count = |i: usize, queries: u64, with_rule: bool| NameCount {
        name: names.values[i].clone(),
        queries,
        party: party_of[i].map(|e| e.name.clone()),
        category: party_of[i].map(|e| e.category.as_str()),
        rule: if with_rule { by_name[i].rule.clone() } else { None },
    };
    let top_by = |count: &dyn Fn(&NameAgg) -> u64, with_rule: bool| -> Vec<NameCount> {
        let mut v: Vec<(u64, usize)> = by_name
            .iter()
            .enumerate()
            .map(|(i, a)| (count(a), i))
            .filter(|&(c, _)| c > 0)
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| names.values[a.1].cmp(&names.values[b.1])));
        v.truncate(q.top);
        v.into_iter().map(|(c, i)| name_count(i, c, with_rule)).collect()
    };
    let top_blocked = top_by(&|a| a.blocked, true);
    let top_allowed = top_by(&|a| a.allowed, false);

    let mut client_list: Vec<ClientStats> = clients
        .values
        .iter()
        .zip(&by_client)
        .map(|(client, a)| {
            let mut top: Vec<(u64, u32)> = a.names.iter().map(|(&n, &c)| (c, n)).collect();
            top.sort_by(|x, y| {
                y.0.cmp(&x.0)
                    .then_with(|| names.values[x.1 as usize].cmp(&names.values[y.1 as usize]))
            });
            top.truncate(q.top);
            ClientStats {
                client: client.clone(),
                queries: a.queries,
                blocked: a.blocked,
                allowed: a.allowed,
                names: a.names.len() as u64,
                top_names: top.into_iter().map(|(c, n)| name_count(n as usize, c, false)).collect(),
            }
        })
        .collect();
    client_list.sort_by(|a, b| b.queries.cmp(&a.queries).then_with(|| a.client.cmp(&b.client)));
    client_list.truncate(q.top);

    let mut parties: HashMap<&str, PartyStats> = HashMap::new();
    let mut unattributed = Unattributed::default();
    for (agg, party) in by_name.iter().zip(&party_of) {
        match party {
            Some(e) => {
                let p = parties.entry(e.name.as_str()).or_insert_with(|| PartyStats {
                    party: e.name.clone(),
                    category: e.category.as_str(),
                    country: e.country.clone(),
                    queries: 0,
                    blocked: 0,
                    allowed: 0,
                    names: 0,
                });
                p.queries += agg.queries;
                p.blocked += agg.blocked;
                p.allowed += agg.allowed;
                p.names += 1;
            }
            None => {
                unattributed.queries += agg.queries;
                unattributed.blocked += agg.blocked;
                unattributed.allowed += agg.allowed;
                unattributed.names += 1;
            }
        }
    }
    let parties_total = parties.len() as u64;
    let mut parties: Vec<PartyStats> = parties.into_values().collect();
    parties.sort_by(|a, b| {
        (b.blocked, b.queries).cmp(&(a.blocked, a.queries)).then_with(|| a.party.cmp(&b.party))
    });
    parties.truncate(q.top);

    Ok(Stats {
        since_ms: q.since_ms,
        until_ms: q.until_ms,
        first_ms: first,
        last_ms: last,
        total,
        verdicts,
        names_total: names.values.len() as u64,
        clients_total: clients.values.len() as u64,
        parties_total,
        top_blocked,
        top_allowed,
        clients: client_list,
        parties,
        unattributed,
    })
}

/// The party behind `name`; for a name blocked through another name (the first word of its
/// rule, e.g. a CNAME target), the chain `[name, target]`.
fn attribute<'e>(
    entities: &'e Entities,
    name: &'e str,
    rule: Option<&'e str>,
) -> Option<&'e Entity> {
    let target = rule.and_then(|r| r.split_whitespace().next()).filter(|t| {
        let t = t.trim_end_matches('.');
        !t.eq_ignore_ascii_case(name) && t.contains('.') && !t.contains(['*', '(', ':'])
    });
    match target {
        Some(t) => entities.attribute_chain(&[name, t]).map(|(e, _)| e),
        None => entities.attribute(name),
    }
}
