// Ringside web page: small vanilla script, no dependencies. Each page's part runs by body data-page.
"use strict";
(function () {
  var body = document.body, page = body.dataset.page, token = body.dataset.token || "";
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  var SVG = "http://www.w3.org/2000/svg";

  function $(s) { return document.querySelector(s); }
  function api(path, q) {
    var qs = q || "";
    if (token) qs += (qs ? "&" : "") + "token=" + encodeURIComponent(token);
    return path + (qs ? "?" + qs : "");
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.error || r.status); });
      return r.json();
    });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function dur(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), m = Math.floor(s / 60);
    if (m >= 60) return Math.floor(m / 60) + ":" + pad(m % 60) + ":" + pad(s % 60);
    return m + ":" + pad(s % 60);
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function pct(v) { return v === null || v === undefined ? "–" : v.toFixed(1) + "%"; }
  function rows(tbody, list, cells, empty) {
    tbody.textContent = "";
    if (!list.length) { var tr = el("tr", undefined, "empty"), td = el("td", empty); td.colSpan = 4; tr.appendChild(td); tbody.appendChild(tr); return; }
    list.forEach(function (c) {
      var tr = el("tr"); tr.dataset.id = c.id;
      cells(c).forEach(function (v, i) { tr.appendChild(el("td", v, i === 3 ? "num" : "")); });
      tbody.appendChild(tr);
    });
  }

  // ---- wallboard ----
  function wallboard() {
    var last = null, fetchedAt = 0, pending = false, state = $("#live-state");
    function render() {
      if (!last) return;
      var d = last, dt = Date.now() - fetchedAt;
      $("#waiting-count").textContent = d.waiting.length;
      $("#longest-wait").textContent = dur(d.waiting.length ? d.longest_wait_ms + dt : 0);
      $("#today-volume").textContent = d.today.volume;
      $("#blocked-pct").textContent = pct(d.today.blocked_pct);
      $("#sl-pct").textContent = pct(d.today.service_level_pct);
      $("#blocked-tile").className = "tile " + d.today.blocked_colour;
      $("#sl-tile").className = "tile " + d.today.service_level_colour;
      rows($("#waiting"), d.waiting, function (c) { return [c.caller, c.queue, c.source, dur(c.wait_ms + dt)]; }, "Nobody is waiting.");
      rows($("#connected"), d.connected, function (c) { return [c.caller, c.agent, c.queue, dur(c.talk_ms + dt)]; }, "No call in progress.");
      var ag = $("#agents"); ag.textContent = "";
      (d.agents || []).forEach(function (a) {
        var li = el("li", undefined, "st-" + a.state); li.appendChild(el("span", a.name || a.id)); li.appendChild(el("span", a.state, "state")); ag.appendChild(li);
      });
      var ls = $("#lines"); ls.textContent = "";
      (d.lines || []).forEach(function (l) { var li = el("li"); li.appendChild(el("span", l.id)); li.appendChild(el("span", l.calls + " live")); ls.appendChild(li); });
      (d.queues || []).forEach(function (q) { var li = el("li"); li.appendChild(el("span", "queue " + q.name)); li.appendChild(el("span", q.waiting + " waiting")); ls.appendChild(li); });
      var probs = $("#problems"); probs.textContent = "";
      (d.problems || []).forEach(function (p) { probs.appendChild(el("p", p.text, "problem" + (p.failing ? " failing" : ""))); });
      var leds = $("#leds"); leds.textContent = "";
      Object.keys(d.leds || {}).sort().forEach(function (k) {
        var li = el("li", undefined, "led led-" + String(d.leds[k]).replace(/[^a-z_]/g, "")); li.appendChild(el("span", undefined, "dot")); li.appendChild(document.createTextNode(k + ": " + d.leds[k])); leds.appendChild(li);
      });
    }
    var again = false;
    function refresh() {
      if (pending) { again = true; return; } // one more fetch when this one ends: no event is missed
      pending = true;
      getJSON(api("/api/v1/live")).then(function (d) { last = d; fetchedAt = Date.now(); render(); state.textContent = "Live."; })
        .catch(function (e) { state.textContent = "Not updating: " + e.message; })
        .then(function () { pending = false; if (again) { again = false; refresh(); } });
    }
    refresh();
    setInterval(render, 1000);
    setInterval(refresh, 15000);
    if (window.EventSource) {
      var es = new EventSource(api("/api/v1/events"));
      ["call", "agent", "queue", "status"].forEach(function (t) { es.addEventListener(t, refresh); });
      es.onerror = function () { state.textContent = "Reconnecting…"; };
      es.onopen = function () { refresh(); };
    }
  }

  // ---- charts (inline SVG) ----
  function svg(w, h) { var s = document.createElementNS(SVG, "svg"); s.setAttribute("viewBox", "0 0 " + w + " " + h); s.setAttribute("role", "img"); return s; }
  function add(parent, tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e); return e;
  }
  function bars(box, labels, values, every) {
    var W = 600, H = 260, top = 20, bottom = 34, left = 50, n = values.length, max = Math.max.apply(null, values.concat([1]));
    var s = svg(W, H), bw = (W - left) / Math.max(n, 1);
    add(s, "text", { x: 0, y: top + 14 }, String(max));
    add(s, "text", { x: 0, y: H - bottom }, "0");
    values.forEach(function (v, i) {
      var h = (H - top - bottom) * v / max, x = left + i * bw;
      var r = add(s, "rect", { x: x + 1, y: H - bottom - h, width: Math.max(bw - 2, 1), height: h, fill: "#2866a6" });
      add(r, "title", {}, labels[i] + ": " + v);
      if (i % (every || 1) === 0) add(s, "text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle" }, labels[i]);
    });
    box.textContent = ""; box.appendChild(s);
  }
  function hbars(box, labels, values) {
    var W = 600, rowH = 34, left = 230, H = Math.max(values.length, 1) * rowH + 4, max = Math.max.apply(null, values.concat([1]));
    var s = svg(W, H);
    values.forEach(function (v, i) {
      var y = i * rowH + 2, w = (W - left - 50) * v / max;
      add(s, "text", { x: 0, y: y + 23 }, labels[i]);
      var r = add(s, "rect", { x: left, y: y + 4, width: w, height: rowH - 8, fill: "#2866a6" });
      add(r, "title", {}, labels[i] + ": " + v);
      add(s, "text", { x: left + w + 6, y: y + 23 }, String(v));
    });
    box.textContent = ""; box.appendChild(s);
  }
  function heatmap(box, hm) {
    var days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], W = 620, left = 34, cw = (W - left) / 24, ch = 20, H = 7 * ch + 18, max = 1;
    hm.forEach(function (r) { r.forEach(function (v) { max = Math.max(max, v); }); });
    var s = svg(W, H);
    s.setAttribute("class", "hm");
    hm.forEach(function (r, d) {
      add(s, "text", { x: 0, y: d * ch + 14 }, days[d]);
      r.forEach(function (v, h) {
        var c = add(s, "rect", { x: left + h * cw, y: d * ch, width: cw - 1, height: ch - 1, fill: "#2866a6", "fill-opacity": v ? 0.12 + 0.88 * v / max : 0.04 });
        add(c, "title", {}, days[d] + " " + pad(h) + ":00 — " + v);
      });
    });
    for (var h = 0; h < 24; h += 3) add(s, "text", { x: left + h * cw + 2, y: H - 4 }, pad(h));
    box.textContent = ""; box.appendChild(s);
  }
  // The metrics view: the charts come from the report the cards were written from (embedded in
  // the page), so the two always agree, however many calls end meanwhile.
  function stats() {
    var r = JSON.parse($("#stats-report").textContent), hours = [];
    for (var i = 0; i < 24; i++) hours.push(pad(i));
    bars($("#chart-hour"), hours, r.by_hour, 3);
    var days = (r.by_day || []).map(function (d) { return d.date.slice(5); });
    bars($("#chart-day"), days, (r.by_day || []).map(function (d) { return d.calls; }), Math.ceil(days.length / 10));
    var src = {};
    (r.sources || []).forEach(function (s) { src[s.source] = (src[s.source] || 0) + s.volume; });
    var names = Object.keys(src).sort(function (x, y) { return src[y] - src[x]; });
    hbars($("#chart-source"), names, names.map(function (n) { return src[n]; }));
    heatmap($("#chart-heatmap"), r.heatmap);
    hbars($("#chart-callers"), ["first-time", "repeat", "withheld"], [r.first_time, r.repeat, r.withheld]);
    var h = r.wait_bars, labels = h.upper_ms.map(function (u) { return "<" + dur(u); });
    labels.push("≥" + dur(h.upper_ms[h.upper_ms.length - 1]));
    bars($("#chart-waits"), labels, h.connected.map(function (c, i) { return c + h.not_connected[i]; }));
  }

  // ---- call log and call ----
  function calls() {
    var player = $("#player");
    document.querySelectorAll("button.play").forEach(function (b) {
      b.addEventListener("click", function () { player.classList.remove("hidden"); player.src = b.dataset.src; player.play(); });
    });
  }
  function callPage() {
    var f = $("#tag-form");
    if (!f) return;
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var lead = f.elements.lead.value, st = $("#tag-status");
      var body = { lead: lead === "" ? null : lead === "yes", converted: f.elements.converted.checked,
        revenue: f.elements.revenue.value.trim() || "0", notes: f.elements.notes.value };
      st.textContent = "Saving…";
      fetch("/api/v1/calls/" + encodeURIComponent(f.dataset.id) + "/tags", {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body)
      }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); return j; }); })
        .then(function (c) { st.textContent = "Saved by " + c.tags.by + "."; st.dataset.saved = "1"; })
        .catch(function (e) { st.textContent = "Not saved: " + e.message; });
    });
  }

  if (page === "wallboard") wallboard();
  else if (page === "stats") stats();
  else if (page === "calls") calls();
  else if (page === "call") callPage();
})();
