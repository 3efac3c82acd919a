/*
 * app.js: what every page shares: toasts, the CSRF header for htmx, live regions that
 * refresh themselves, and one realtime connection per page (window.DC).
 */
(function () {
  "use strict";

  var DC = (window.DC = window.DC || {});
  var root = document.documentElement;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  DC.csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  DC.role = document.body.dataset.role || "guest";

  /* ------------------------------------------------------------------ toasts */

  var TOAST_MS = 6000;

  function toastRegion() {
    return document.getElementById("toasts");
  }

  function armToast(el) {
    if (!el.querySelector(".toast-close")) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "toast-close";
      close.setAttribute("aria-label", "Dismiss");
      close.textContent = "×";
      close.addEventListener("click", function () { el.remove(); });
      el.appendChild(close);
    }
    var timer = setTimeout(function () { el.remove(); }, TOAST_MS);
    el.addEventListener("mouseenter", function () { clearTimeout(timer); });
    el.addEventListener("focusin", function () { clearTimeout(timer); });
  }

  /** Show a message; text only (never HTML). kind: success | info | error. */
  DC.toast = function (message, kind) {
    var region = toastRegion();
    if (!region) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (kind || "success");
    el.setAttribute("data-testid", "toast");
    var text = document.createElement("span");
    text.className = "toast-text";
    text.textContent = message;
    el.appendChild(text);
    region.appendChild(el);
    while (region.children.length > 4) region.firstElementChild.remove();
    armToast(el);
  };

  /* ------------------------------------------------------------------ formatting */

  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  /** "Mon 24 Nov" from "2026-11-24" (the date is local to the dentist: no time zone maths). */
  DC.dayLabel = function (iso) {
    var parts = String(iso).split("-").map(Number);
    var d = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
    return DAYS[d.getUTCDay()] + " " + d.getUTCDate() + " " + MONTHS[d.getUTCMonth()];
  };

  /** "UTC", "UTC+03", "UTC-03:30" (web/localtime.py's offset_label). */
  function offsetLabel(minutes) {
    if (!minutes) return "UTC";
    var abs = Math.abs(minutes);
    var hours = Math.floor(abs / 60);
    var rest = abs % 60;
    return "UTC" + (minutes > 0 ? "+" : "-") + (hours < 10 ? "0" : "") + hours +
      (rest ? ":" + (rest < 10 ? "0" : "") + rest : "");
  }

  var zoneLabels = {};
  try { zoneLabels = JSON.parse(root.dataset.zoneLabels || "{}"); } catch (err) { /* none */ }

  /**
   * "10:30 EST" for a live record (appointment or slot), as the server's `clock` filter
   * shows it: the offset its local date and time imply at `starts_at`, named from the map
   * of the page's zones (clinic and dentists) that the page carries.
   */
  DC.clock = function (record) {
    var day = String(record.appointment_date || record.date);
    var hhmm = String(record.appointment_time || record.time).slice(0, 5);
    if (!record.starts_at) return hhmm;
    var d = day.split("-").map(Number);
    var t = hhmm.split(":").map(Number);
    var wall = Date.UTC(d[0], d[1] - 1, d[2], t[0], t[1]);
    var offset = Math.round((wall - Date.parse(record.starts_at)) / 60000);
    return hhmm + " " + (zoneLabels[String(offset)] || offsetLabel(offset));
  };

  DC.when = function (record) {
    return DC.dayLabel(record.appointment_date) + " at " + DC.clock(record);
  };

  /* ------------------------------------------------------------------ live regions */

  function busy(region) {
    if (region.querySelector("details[open]")) return true;
    var active = document.activeElement;
    return !!(active && region.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
  }

  /**
   * Refresh one live region (an element with an id and data-live-region) from the server,
   * coalescing bursts; waits while the user is typing or confirming inside it.
   */
  DC.refresh = function (id) {
    var state = (DC._refreshing = DC._refreshing || {});
    var entry = state[id] || (state[id] = { running: null, again: false });
    if (entry.running) {
      entry.again = true;
      return entry.running;
    }
    entry.running = new Promise(function (resolve) {
      function go() {
        var region = document.getElementById(id);
        if (!region) { resolve(); return; }
        if (busy(region)) { setTimeout(go, 800); return; }
        var url = region.dataset.refreshUrl || window.location.pathname + window.location.search;
        // Marked as a background refresh: if the session has ended meanwhile (a logout
        // in this tab, in flight), the server answers 204, not a redirect to the login
        // page that would take over the page the user is leaving for.
        htmx.ajax("GET", url, {
          target: "#" + id, select: "#" + id, swap: "outerHTML",
          headers: { "X-Live-Refresh": "1" },
        })
          .then(resolve, resolve);
      }
      go();
    }).then(function () {
      entry.running = null;
      if (entry.again) {
        entry.again = false;
        return DC.refresh(id);
      }
    });
    return entry.running;
  };

  DC.refreshAll = function () {
    var ids = Array.prototype.map.call(document.querySelectorAll("[data-live-region]"), function (el) {
      return el.id;
    });
    return Promise.all(ids.filter(Boolean).map(DC.refresh));
  };

  /* ------------------------------------------------------------------ realtime */

  var LIVE_TEXT = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", off: "Offline" };

  function showState(state) {
    root.dataset.realtime = state;
    var pill = document.querySelector("[data-live-indicator]");
    if (!pill) return;
    pill.hidden = false;
    pill.dataset.state = state;
    pill.querySelector(".live-text").textContent = LIVE_TEXT[state] || state;
  }

  async function fetchToken() {
    var response = await fetch("/session/realtime-token", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": DC.csrf },
    });
    if (!response.ok) {
      var error = new Error("realtime token: " + response.status);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  /** The page's one realtime connection (authenticated when someone is logged in). */
  DC.realtime = function () {
    if (!DC._realtime) {
      DC._realtime = new window.DCRealtime({
        getToken: DC.role === "guest" ? null : fetchToken,
        onState: showState,
        onAuthLost: function () {
          DC.toast("Your session has ended. Please log in again.", "error");
        },
      });
    }
    return DC._realtime;
  };

  /* Status changes made in this tab: their live event needs no second toast. */
  var ownActions = new Map();

  /** Whether a live appointment record is the echo of this tab's own status change. */
  DC.isOwnAction = function (record) {
    var status = ownActions.get(record.id);
    if (status !== record.status) return false;
    ownActions.delete(record.id);
    return true;
  };

  /* ------------------------------------------------------------------ htmx wiring */

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = DC.csrf;
    var path = event.detail.path || "";
    var match = path.match(/^\/appointments\/([0-9a-f-]{36})\/status$/);
    var status = event.detail.parameters && event.detail.parameters.get
      ? event.detail.parameters.get("status")
      : event.detail.parameters && event.detail.parameters.status;
    if (match && status) {
      ownActions.set(match[1], status);
      setTimeout(function () { ownActions.delete(match[1]); }, 10000);
    }
  });

  document.body.addEventListener("dc:toast", function (event) {
    DC.toast(event.detail.message, event.detail.kind);
  });

  document.body.addEventListener("dc:changed", function () {
    DC.refreshAll();
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger")) return; // the server sent its own toast
    var detail = "Something went wrong. Please try again.";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.detail) detail = body.detail;
    } catch (err) { /* not JSON */ }
    DC.toast(detail, "error");
  });

  document.addEventListener("htmx:sendError", function () {
    DC.toast("We could not reach the clinic's server. Check your connection and try again.", "error");
  });

  /* Buttons show that they are working while htmx waits. */
  document.addEventListener("htmx:beforeRequest", function (event) {
    var button = event.detail.elt.querySelector && event.detail.elt.querySelector("button[type=submit]");
    if (button) button.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var button = event.detail.elt.querySelector && event.detail.elt.querySelector("button[type=submit]");
    if (button) button.removeAttribute("aria-busy");
    // A confirmation that was acted on closes (and no longer holds back live refreshes).
    var confirm = event.detail.successful && event.detail.elt.closest && event.detail.elt.closest("details.confirm");
    if (confirm) confirm.open = false;
  });

  /* After a form comes back with errors, move focus to the first one. */
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelector) return;
    var invalid = target.querySelector("[aria-invalid=true], .alert-error");
    if (invalid && event.detail.requestConfig && event.detail.requestConfig.verb === "post") {
      if (invalid.focus) invalid.focus();
    }
  });

  /*
   * A field's error goes as soon as the field is fixed: once what was typed passes the
   * field's own checks (required, type, pattern, length). The server checks again on
   * submit; an error it cannot tell the browser how to check goes at the first edit.
   */
  function clearFixedError(event) {
    var input = event.target;
    if (!input || !input.getAttribute || input.getAttribute("aria-invalid") !== "true") return;
    if (input.checkValidity && !input.checkValidity()) return;
    var error = document.getElementById("err-" + input.name);
    if (error) error.remove();
    input.removeAttribute("aria-invalid");
    var hint = document.getElementById("hint-" + input.name);
    if (hint) input.setAttribute("aria-describedby", hint.id);
    else input.removeAttribute("aria-describedby");
    var field = input.closest(".field");
    if (field) field.classList.remove("has-error");
  }
  document.addEventListener("input", clearFixedError);
  document.addEventListener("change", clearFixedError);

  document.querySelectorAll("#toasts .toast").forEach(armToast);
})();
