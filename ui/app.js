/* SPDX-License-Identifier: MIT */
/* fleet's web view: renders the state pushed by fleetd over server-sent events (/ui/events).
 * Read-only, no dependencies, no cookies, nothing fetched from anywhere else. */
"use strict";

(function () {
  var state = null;           /* the last snapshot: kept on screen when the feed drops */
  var knownIps = {};          /* every machine's IP seen so far, for events about gone ones */
  var connected = false;
  var sort = {
    units: { key: "name", dir: 1 },
    machines: { key: "id", dir: 1 },
  };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function shortId(id) {
    return id ? id.slice(0, 8) : "";
  }

  function machineLabel(id) {
    if (!id) return "";
    return shortId(id) + (knownIps[id] ? "/" + knownIps[id] : "");
  }

  /* A state in words and in colour: the class picks the colour, the text says it. */
  function tone(word) {
    switch (word) {
      case "launched": case "active": case "running": case "exited": case "listening":
        return "ok";
      case "loaded": case "activating": case "reloading": case "start": case "start-pre":
      case "auto-restart": case "deactivating": case "stop":
        return "busy";
      case "failed": case "error": case "not-found": case "dead-failed":
        return "bad";
      case "inactive": case "dead":
        return "off";
      default:
        return "none";
    }
  }

  function pill(word) {
    if (!word) return el("span", "muted", "\u2013");
    var p = el("span", "pill pill-" + tone(word), word);
    p.title = word;
    return p;
  }

  function matches(text, q) {
    return !q || text.toLowerCase().indexOf(q) >= 0;
  }

  function cmp(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined || a === "") return 1;
    if (b === null || b === undefined || b === "") return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function sorted(rows, s, value) {
    return rows.slice().sort(function (x, y) {
      var r = cmp(value(x, s.key), value(y, s.key));
      return r !== 0 ? r * s.dir : cmp(value(x, "name") || x.id, value(y, "name") || y.id);
    });
  }

  function unitValue(u, key) {
    return key === "machine" ? machineLabel(u.machine) : u[key];
  }

  function machineValue(m, key) {
    if (key === "metadata") return Object.keys(m.metadata).map(function (k) {
      return k + "=" + m.metadata[k];
    }).join(",");
    if (key === "role") return m.leader ? "engine leader" : "";
    return m[key];
  }

  function renderUnits(q) {
    var tbody = $("units").tBodies[0];
    var rows = state.units.filter(function (u) {
      return matches([u.name, u.desired, u.current, u.machine, machineLabel(u.machine),
                      u.active, u.sub, u.reason].join(" "), q);
    });
    tbody.textContent = "";
    sorted(rows, sort.units, unitValue).forEach(function (u) {
      var tr = el("tr");
      tr.dataset.unit = u.name;
      if (u.machine) tr.dataset.machine = u.machine;
      if (u.active === "failed") tr.className = "row-bad";
      var name = el("td", "col-name");
      var a = el("a", null, u.name);
      a.href = "units/" + encodeURIComponent(u.name);
      a.title = "Show the unit file of " + u.name;
      name.appendChild(a);
      if (u.global) name.appendChild(el("span", "tag", "global"));
      tr.appendChild(name);
      [["desired", u.desired], ["current", u.current]].forEach(function (c) {
        var td = el("td", "col-" + c[0]);
        td.dataset.label = c[0];
        td.appendChild(pill(c[1]));
        tr.appendChild(td);
      });
      var mc = el("td", "col-machine mono", u.machine ? machineLabel(u.machine) : "\u2013");
      mc.dataset.label = "machine";
      if (u.machine) mc.title = u.machine;
      tr.appendChild(mc);
      var ac = el("td", "col-active");
      ac.dataset.label = "active";
      ac.appendChild(pill(u.active));
      tr.appendChild(ac);
      var sc = el("td", "col-sub", u.sub || "\u2013");
      sc.dataset.label = "sub";
      tr.appendChild(sc);
      var rc = el("td", "col-reason", u.reason || "");
      rc.dataset.label = "reason";
      tr.appendChild(rc);
      tbody.appendChild(tr);
    });
    var distinct = function (a) { return new Set(a.map(function (u) { return u.name; })).size; };
    var all = distinct(state.units), shown = distinct(rows);
    $("units-count").textContent = (shown === all ? String(all) : shown + " of " + all) +
      (rows.length !== shown ? " (" + rows.length + " rows: a global unit has one per machine)" : "");
    $("units-empty").hidden = rows.length > 0;
  }

  function renderMachines(q) {
    var tbody = $("machines").tBodies[0];
    var rows = state.machines.filter(function (m) {
      return matches([m.id, m.ip, machineValue(m, "metadata"), m.leader ? "leader" : ""].join(" "), q);
    });
    tbody.textContent = "";
    sorted(rows, sort.machines, machineValue).forEach(function (m) {
      var tr = el("tr");
      tr.dataset.machine = m.id;
      var id = el("td", "col-id mono", shortId(m.id) + "\u2026");
      id.title = m.id + (m.version ? " (fleetd " + m.version + ")" : "");
      tr.appendChild(id);
      var ip = el("td", "col-ip mono", m.ip || "\u2013");
      ip.dataset.label = "IP";
      tr.appendChild(ip);
      var md = el("td", "col-metadata");
      md.dataset.label = "metadata";
      var keys = Object.keys(m.metadata);
      if (keys.length === 0) md.appendChild(el("span", "muted", "\u2013"));
      keys.forEach(function (k) { md.appendChild(el("span", "tag", k + "=" + m.metadata[k])); });
      tr.appendChild(md);
      var n = el("td", "col-units num", String(m.units));
      n.dataset.label = "units";
      tr.appendChild(n);
      var role = el("td", "col-role");
      role.dataset.label = "role";
      if (m.leader) role.appendChild(el("span", "pill pill-leader", "engine leader"));
      else role.appendChild(el("span", "muted", "\u2013"));
      tr.appendChild(role);
      var cd = el("td", "col-cordoned" + (m.cordoned ? " state-warn" : ""), m.cordoned || "-");
      cd.dataset.label = "cordoned";
      tr.appendChild(cd);
      tbody.appendChild(tr);
    });
    $("machines-count").textContent = String(state.machines.length);
    $("machines-empty").hidden = rows.length > 0;
  }

  function eventText(e) {
    switch (e.type) {
      case "placed": return [e.unit, " placed on ", machineLabel(e.machine)];
      case "moved": return [e.unit, " moved from ", machineLabel(e.from), " to ", machineLabel(e.machine)];
      case "unscheduled": return [e.unit, " unscheduled from ", machineLabel(e.machine)];
      case "failed": return [e.unit, " failed on ", machineLabel(e.machine)];
      case "machine-joined": return ["machine ", machineLabel(e.machine), " joined"];
      case "machine-left": return ["machine ", machineLabel(e.machine), " left"];
      default: return [e.type];
    }
  }

  function renderEvents(q) {
    var list = $("events");
    list.textContent = "";
    var shown = state.events.filter(function (e) {
      return matches([e.type, e.unit, e.machine, e.from].join(" "), q);
    });
    shown.forEach(function (e) {
      var li = el("li", "event event-" + e.type);
      li.dataset.type = e.type;
      var t = new Date(e.time);
      var time = el("time", "when", t.toLocaleTimeString());
      time.dateTime = t.toISOString();
      li.appendChild(time);
      li.appendChild(el("span", "kind", e.type.replace("-", " ")));
      var text = el("span", "what");
      eventText(e).forEach(function (part, i) {
        text.appendChild(i % 2 === 0 && part === e.unit ? el("strong", null, part)
                                                       : document.createTextNode(part));
      });
      li.appendChild(text);
      list.appendChild(li);
    });
    $("events-empty").hidden = shown.length > 0;
  }

  function renderCounts() {
    var by = {};
    state.units.forEach(function (u) {
      var k = u.active || u.current;
      by[k] = (by[k] || 0) + 1;
    });
    var box = $("counts");
    box.textContent = "";
    Object.keys(by).sort().forEach(function (k) {
      var b = el("button", "count-chip pill pill-" + tone(k));
      b.type = "button";
      b.dataset.state = k;
      b.appendChild(el("span", null, k));
      b.appendChild(el("b", null, String(by[k])));
      b.title = "Show only " + k + " units";
      b.setAttribute("aria-pressed", String($("filter").value.trim().toLowerCase() === k));
      b.addEventListener("click", function () {
        var f = $("filter");
        f.value = f.value === k ? "" : k;
        render();
      });
      box.appendChild(b);
    });
    $("n-machines").textContent = state.machines.length;
    $("n-units").textContent = new Set(state.units.map(function (u) { return u.name; })).size;
    $("n-running").textContent = by.active || 0;
    $("n-failed").textContent = by.failed || 0;
    var leader = state.machines.find(function (m) { return m.leader; });
    $("leader").textContent = leader ? machineLabel(leader.id) : (state.leader ? shortId(state.leader) : "none");
  }

  function renderBanner() {
    var b = $("banner");
    var msg = "";
    if (!connected)
      msg = "Lost the connection to fleetd: showing the last state received; reconnecting\u2026";
    else if (state && !state.etcd)
      msg = "This fleetd cannot reach etcd: showing the last known state of the cluster.";
    else if (state && !state.synced)
      msg = "Waiting for the first copy of the registry from etcd\u2026";
    b.textContent = msg;
    b.hidden = !msg;
    var live = $("live");
    live.dataset.state = !connected ? "down" : (state && state.etcd ? "live" : "stale");
    $("live-text").textContent = !connected ? "disconnected" : (state && state.etcd ? "live" : "etcd unreachable");
  }

  function render() {
    renderBanner();
    if (!state) return;
    var q = $("filter").value.trim().toLowerCase();
    renderCounts();
    renderUnits(q);
    renderMachines(q);
    renderEvents(q);
    $("revision").textContent = "etcd revision " + state.revision;
    document.title = "fleet \u2013 " + state.machines.length + " machines, " + state.units.length + " units";
  }

  function setupSorting() {
    ["units", "machines"].forEach(function (table) {
      var ths = $(table).tHead.rows[0].cells;
      Array.prototype.forEach.call(ths, function (th) {
        th.tabIndex = 0;
        th.title = "Sort by " + th.textContent.toLowerCase();
        var go = function () {
          var s = sort[table];
          s.dir = s.key === th.dataset.key ? -s.dir : 1;
          s.key = th.dataset.key;
          Array.prototype.forEach.call(ths, function (o) { o.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", s.dir > 0 ? "ascending" : "descending");
          render();
        };
        th.addEventListener("click", go);
        th.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); go(); }
        });
      });
    });
  }

  function connect() {
    var es = new EventSource("events");
    es.addEventListener("open", function () { connected = true; renderBanner(); });
    es.addEventListener("snapshot", function (ev) {
      connected = true;
      state = JSON.parse(ev.data);
      state.machines.forEach(function (m) { if (m.ip) knownIps[m.id] = m.ip; });
      render();
    });
    es.addEventListener("error", function () {
      /* EventSource reconnects by itself (retry: 2000); keep the last state visible */
      connected = false;
      renderBanner();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupSorting();
    $("filter").addEventListener("input", render);
    renderBanner();
    connect();
  });
})();
