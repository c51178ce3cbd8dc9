"use strict";
// The live view: one EventSource to /events; each `state` event is the whole state, drawn with
// textContent only (names and values come from the network: never parsed as HTML).
(function () {
  const token = new URLSearchParams(location.search).get("token");
  const q = token ? "?token=" + encodeURIComponent(token) : "";
  const $ = (id) => document.getElementById(id);
  $("download").href = "/report.html" + q;
  const seen = new Set();
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function table(id, rows, columns, key) {
    const body = $(id);
    body.replaceChildren();
    for (const r of rows) {
      const tr = document.createElement("tr");
      const k = key ? key(r) : null;
      if (k && !seen.has(k)) { seen.add(k); tr.className = "new"; }
      for (const [get, cls] of columns) {
        const v = get(r);
        cell(tr, v, typeof cls === "function" ? cls(r) : cls);
      }
      body.appendChild(tr);
    }
    $(id + "-empty").hidden = rows.length > 0;
  }
  function bytes(n) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0; let v = n;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return i === 0 ? n + " B" : v.toFixed(1) + " " + u[i];
  }
  const sev = (s) => "sev " + s;
  function draw(s) {
    const sum = s.summary;
    const v = $("verdict");
    v.textContent = sum.verdict || "nothing read yet";
    v.className = sum.verdict || "";
    $("headline").textContent = sum.headline;
    $("status").textContent = s.status_line;
    $("findings-count").textContent = sum.findings;
    $("destinations-count").textContent = sum.destinations;
    const dests = s.destinations.slice().sort((a, b) => a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0);
    const tl = $("timeline");
    tl.replaceChildren();
    for (const d of dests) {
      const li = document.createElement("li");
      li.textContent = d.first_seen.slice(11, 19) + "  " + d.host + "  (" + (d.party || "unknown party") + ", " + (d.country || "?") + ")";
      tl.appendChild(li);
    }
    $("timeline-empty").hidden = dests.length > 0;
    const order = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
    const byParty = s.destinations.slice().sort((a, b) =>
      (a.party || a.domain).localeCompare(b.party || b.domain) || order[a.severity] - order[b.severity] || a.host.localeCompare(b.host));
    table("destinations", byParty, [
      [(d) => d.party || d.domain + " (unknown)"],
      [(d) => d.host],
      [(d) => d.country || "?"],
      [(d) => d.protection_label, (d) => (d.encrypted && !d.weak_tls ? "" : "weak")],
      [(d) => d.severity, (d) => sev(d.severity)],
      [(d) => d.findings, "num"],
      [(d) => bytes(d.bytes_sent), "num"],
    ], (d) => "d:" + d.host);
    table("countries", sum.countries, [
      [(c) => c.country],
      [(c) => c.destinations, "num"],
      [(c) => c.findings, "num"],
      [(c) => bytes(c.bytes_sent), "num"],
    ]);
    const findings = s.findings.slice().sort((a, b) => order[a.severity] - order[b.severity] || (a.last_seen < b.last_seen ? 1 : -1));
    table("findings", findings, [
      [(f) => f.severity, (f) => sev(f.severity)],
      [(f) => f.data],
      [(f) => (f.device ? f.device + ": " : "") + f.item],
      [(f) => f.host],
      [(f) => f.party || "unknown"],
      [(f) => f.where],
      [(f) => f.protection],
      [(f) => f.count, "num"],
      [(f) => f.evidence.length ? f.evidence[0].value + " (" + f.evidence[0].file.split("/").pop() + " #" + f.evidence[0].frame + ")" : ""],
    ], (f) => "f:" + [f.device, f.data, f.item, f.source, f.host, f.encoding, f.where].join("|"));
    const blocked = s.blocked || [];
    $("blocked-section").hidden = s.blocked == null;
    table("blocked", blocked, [
      [(b) => b.client],
      [(b) => b.blocked, "num"],
      [(b) => b.last_name],
    ]);
    // A gateway's refusals (the newest first); the section shows once there is one.
    const refused = s.refused.connections.slice().reverse();
    $("refused-section").hidden = s.refused.total === 0;
    $("refused-total").textContent = s.refused.total;
    table("refused", refused, [
      [(r) => r.time.slice(11, 19)],
      [(r) => r.device || ""],
      [(r) => r.transport + " " + (r.server.includes(":") ? "[" + r.server + "]" : r.server) + ":" + r.port],
      [(r) => r.matched],
      [(r) => r.rule],
    ], (r) => "r:" + r.flow);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }
  const es = new EventSource("/events" + q);
  es.addEventListener("state", (e) => {
    $("conn").textContent = "live";
    $("conn").className = "";
    draw(JSON.parse(e.data));
  });
  es.onerror = () => {
    $("conn").textContent = "disconnected (the session ended, or the network); retrying";
    $("conn").className = "down";
  };
})();
