/*
 * monitor.js: the admin's sync monitor. Polls /api/sync/stats every second and draws the
 * commit → delivery latency of the last two minutes as an inline SVG chart.
 */
(function () {
  "use strict";

  var root = document.getElementById("sync-monitor");
  if (!root) return;
  var url = root.dataset.statsUrl;
  var EVERY_MS = 1000;
  var KEEP = 120;
  var W = 600;
  var H = 220;
  var PAD = 24;
  var samples = [];
  var previous = null;
  var failures = 0;

  function set(name, value) {
    var el = root.querySelector('[data-stat="' + name + '"]');
    if (el) el.textContent = value;
  }

  function fmt(ms) {
    return ms === null || ms === undefined ? "—" : Number(ms).toFixed(1);
  }

  function channelRows(subscriptions) {
    var counts = new Map();
    subscriptions.forEach(function (s) { counts.set(s.channelName, (counts.get(s.channelName) || 0) + 1); });
    var body = root.querySelector("[data-channel-table]");
    body.replaceChildren();
    var rows = Array.from(counts.entries()).sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 2;
      td.className = "muted";
      td.textContent = "No subscriptions right now.";
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    rows.slice(0, 50).forEach(function (entry) {
      var tr = document.createElement("tr");
      var name = document.createElement("td");
      name.className = "mono channel-name";
      name.title = entry[0];
      // Ids are long: show their first 8 characters.
      name.textContent = entry[0].replace(/([0-9a-f]{8})-[0-9a-f-]{27}/g, "$1…");
      var count = document.createElement("td");
      count.className = "num";
      count.textContent = entry[1];
      tr.appendChild(name);
      tr.appendChild(count);
      body.appendChild(tr);
    });
  }

  function draw() {
    var svg = document.getElementById("latency-chart");
    var top = 1;
    samples.forEach(function (s) { top = Math.max(top, s.max || 0, s.p95 || 0); });
    top = Math.ceil(top * 1.2);
    function y(v) { return H - PAD - ((v || 0) / top) * (H - 2 * PAD); }
    // The line spans the chart from the first reading; after two minutes it scrolls.
    var span = Math.max(1, samples.length - 1);
    function x(i) { return PAD + i * ((W - 2 * PAD) / span); }
    ["p50", "p95", "max"].forEach(function (key) {
      var points = samples.map(function (s, i) { return x(i).toFixed(1) + "," + y(s[key]).toFixed(1); });
      svg.querySelector('[data-line="' + key + '"]').setAttribute("points", points.join(" "));
    });
    var grid = svg.querySelector("[data-grid]");
    grid.replaceChildren();
    [0, 0.5, 1].forEach(function (f) {
      var value = top * f;
      var line = document.createElementNS("http://www.w3.org/2000/svg", "line");
      line.setAttribute("x1", PAD); line.setAttribute("x2", W - PAD);
      line.setAttribute("y1", y(value)); line.setAttribute("y2", y(value));
      grid.appendChild(line);
      var label = document.createElementNS("http://www.w3.org/2000/svg", "text");
      label.setAttribute("x", 2); label.setAttribute("y", y(value) - 3);
      label.textContent = value.toFixed(value < 10 ? 1 : 0) + " ms";
      grid.appendChild(label);
    });
  }

  async function poll() {
    try {
      var response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401 || response.status === 403) {
        root.querySelector("[data-monitor-status]").textContent = "Your session has ended; log in again to keep watching.";
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      var body = await response.json();
      var now = performance.now();
      var rate = 0;
      if (previous) {
        var seconds = Math.max(0.001, (now - previous.at) / 1000);
        rate = Math.max(0, (body.events.delivered - previous.delivered) / seconds);
      }
      previous = { at: now, delivered: body.events.delivered };
      set("connections", body.connections);
      set("total", body.stats.total);
      set("appointments", body.stats.appointments || 0);
      set("availability", body.stats.availability || 0);
      set("global", body.stats.global || 0);
      set("received", body.events.received);
      set("rate", rate < 10 ? rate.toFixed(1) : Math.round(rate));
      set("p95", fmt(body.latency_ms.p95));
      var l = body.latency_ms;
      root.querySelector("[data-latency-text]").textContent =
        "p50 " + fmt(l.p50) + " · p95 " + fmt(l.p95) + " · p99 " + fmt(l.p99) + " · max " + fmt(l.max) + " ms";
      samples.push({ p50: l.p50, p95: l.p95, max: l.max });
      if (samples.length > KEEP) samples.shift();
      draw();
      channelRows(body.subscriptions || []);
      failures = 0;
      var status = root.querySelector("[data-monitor-status]");
      status.textContent = "Updated " + new Date().toLocaleTimeString();
      root.dataset.polled = String(Number(root.dataset.polled || 0) + 1);
    } catch (err) {
      failures += 1;
      root.querySelector("[data-monitor-status]").textContent = "Cannot reach the server (" + failures + ")…";
    }
    setTimeout(poll, EVERY_MS);
  }

  poll();
})();
