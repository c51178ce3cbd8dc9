//! The gateway's connection verdicts: every packet is analysed first (so the pipeline knows the
//! connection's names as far as this packet), then judged by `guard::conn` until the connection
//! is decided. A refused connection's first refused packet is rejected (a TCP reset to both
//! ends, ICMP port unreachable for UDP) and every later one dropped; a passed connection is not
//! asked about again.
//!
//! A connection is decided once a name of its own is known (SNI, HTTP Host), or once its client
//! has sent [`UNNAMED_AFTER`] bytes without one (nothing will name it any more), or at once when
//! its address or DNS name decides it. Decisions are kept for [`MAX_DECISIONS`] connections,
//! the oldest let go first (a connection let go is judged again from its next packet, with the
//! same result).
//!
//! The `--block` and `--allow` lists are the DNS guard's, read once by it and handed over through
//! its [`Tap`]: a reload (SIGHUP) reaches both, and connections passed before it are judged
//! again by the new lists.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::Arc;

use capture::Timestamp;
use guard::conn::{Conn, ConnFilter, Refusal, Transport};
use guard::server::Tap;
use pipeline::FlowFacts;
use pipeline::time::rfc3339;
use proto::AppProto;
use vpn::gateway::Verdict;

/// Client bytes after which a connection without a name of its own is decided by what is known.
pub(super) const UNNAMED_AFTER: u64 = 16 * 1024;
/// Connections whose decision is kept.
pub(super) const MAX_DECISIONS: usize = 65_536;
/// Refusals kept for the report and the live view (all are counted and logged).
pub(super) const MAX_REFUSALS_KEPT: usize = report::MAX_REFUSED_KEPT;

/// One refused connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) time: Timestamp,
    pub(crate) device: String,
    pub(crate) transport: &'static str,
    pub(crate) server: std::net::SocketAddr,
    pub(crate) flow: u64,
    pub(crate) refusal: Refusal,
}

impl Refused {
    /// As the report lists it.
    pub(crate) fn report(&self) -> report::RefusedConnection {
        report::RefusedConnection {
            time: self.time,
            device: Some(self.device.clone()),
            transport: self.transport,
            server: self.server.ip().to_string(),
            port: self.server.port(),
            flow: self.flow,
            matched: self.refusal.matched.clone(),
            rule: self.refusal.rule.clone(),
        }
    }

    /// The verdict log's line (JSON).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "time": rfc3339(self.time),
            "device": self.device,
            "action": "reject",
            "transport": self.transport,
            "server": self.server.ip().to_string(),
            "port": self.server.port(),
            "flow": self.flow,
            "matched": self.refusal.matched,
            "rule": self.refusal.rule,
        })
    }
}

/// The gateway's verdicts (see the module doc).
pub(crate) struct Gatekeeper {
    filter: ConnFilter,
    /// The guard's lists, and the generation of them in use.
    lists: Option<(Arc<Tap>, u64)>,
    decided: HashMap<u64, bool>,
    order: VecDeque<u64>,
    log: Option<std::io::BufWriter<std::fs::File>>,
    /// Connections refused.
    pub(crate) refused: u64,
    /// The first refusals (at most [`MAX_REFUSALS_KEPT`]).
    pub(crate) kept: Vec<Refused>,
    /// Refusals not yet shown by the live view.
    pub(crate) fresh: Vec<Refused>,
}

impl Gatekeeper {
    pub(crate) fn new(filter: ConnFilter, log: Option<std::fs::File>) -> Self {
        Self {
            filter,
            lists: None,
            decided: HashMap::new(),
            order: VecDeque::new(),
            log: log.map(std::io::BufWriter::new),
            refused: 0,
            kept: Vec::new(),
            fresh: Vec::new(),
        }
    }

    /// Takes the `--block` and `--allow` lists from the guard that read them, now and after
    /// each of its reloads.
    pub(crate) fn follow_lists(&mut self, tap: Arc<Tap>) {
        self.lists = Some((tap, 0));
        self.refresh_lists();
    }

    fn refresh_lists(&mut self) {
        let Some((tap, seen)) = self.lists.as_mut() else { return };
        if let Some(rules) = tap.rules_since(seen) {
            self.filter.set_rules(rules);
            // What passed is judged again by the new lists; refusals stand.
            self.decided.retain(|_, pass| !*pass);
        }
    }

    /// The verdict on the packet just analysed, of `facts`' connection (`None`: the packet was
    /// of no connection, or ended it).
    pub(crate) fn judge(
        &mut self,
        facts: Option<FlowFacts<'_>>,
        device: &str,
        ts: Timestamp,
    ) -> Verdict {
        let Some(f) = facts else { return Verdict::Pass };
        self.refresh_lists();
        if self.filter.is_empty() {
            return Verdict::Pass;
        }
        let id = f.info.id;
        match self.decided.get(&id) {
            Some(true) => return Verdict::Pass,
            Some(false) => return Verdict::Drop,
            None => {}
        }
        let transport = match f.info.transport {
            flow::Transport::Tcp => Transport::Tcp,
            flow::Transport::Udp => Transport::Udp,
            flow::Transport::Other(_) => Transport::Other,
        };
        let conn = Conn {
            transport,
            server: f.info.server,
            sni: f.sni,
            http_host: f.http_host,
            dns_names: f.dns_names,
            quic: f.protocol == AppProto::Quic,
        };
        if let Some(refusal) = self.filter.decide(&conn) {
            self.keep(id, false);
            let r = Refused {
                time: ts,
                device: device.to_string(),
                transport: match transport {
                    Transport::Tcp => "tcp",
                    Transport::Udp => "udp",
                    Transport::Other => "other",
                },
                server: f.info.server,
                flow: id,
                refusal,
            };
            self.refused += 1;
            if let Some(log) = self.log.as_mut() {
                let _ = writeln!(log, "{}", r.json());
            }
            if self.kept.len() < MAX_REFUSALS_KEPT {
                self.kept.push(r.clone());
            }
            if self.fresh.len() < MAX_REFUSALS_KEPT {
                self.fresh.push(r);
            }
            return Verdict::Reject;
        }
        let named = f.sni.is_some() || f.http_host.is_some();
        if named || f.info.payload_bytes[0] >= UNNAMED_AFTER || transport == Transport::Other {
            self.keep(id, true);
        }
        Verdict::Pass
    }

    fn keep(&mut self, id: u64, pass: bool) {
        if self.decided.len() >= MAX_DECISIONS
            && let Some(old) = self.order.pop_front()
        {
            self.decided.remove(&old);
        }
        self.decided.insert(id, pass);
        self.order.push_back(id);
    }

    /// Refuses the destinations a policy selected, from now on (see `guard::conn`).
    pub(crate) fn select(&mut self, entries: &[guard::export::Entry]) {
        self.filter.select(entries);
    }

    /// Hands the refusals since the last call to the live view (its count, its verdict lines)
    /// and flushes the verdict log.
    pub(crate) fn show(&mut self, live: &mut crate::cmd::watch::Live<'_>) {
        self.flush();
        live.status.refused = Some(self.refused);
        if live.refused.0.len() != self.kept.len() {
            live.refused.0 = self.kept.iter().map(Refused::report).collect();
        }
        live.refused.1 = self.refused;
        live.verdicts.extend(self.fresh.drain(..).map(|r| r.json()));
    }

    /// Flushes the verdict log.
    fn flush(&mut self) {
        if let Some(log) = self.log.as_mut() {
            let _ = log.flush();
        }
    }
}
