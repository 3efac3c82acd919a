/*
 * booking.js: the treatment-first booking page, enhanced. The page works without it
 * (every start is a submit button that holds it, every week a link); with it:
 *  - picking a start holds it in place (htmx swaps the form's time box) and the hold's
 *    countdown runs; the held start stays pressed;
 *  - starts that someone else holds or books grey out live: a `slots` event on
 *    `availability:<dentist>` carries the occupied interval, not the treatment, so the
 *    page asks again for that dentist, treatment and day and greys what is not free;
 *  - on the treatment page, each dentist's next starts refresh when theirs change.
 */
(function () {
  "use strict";

  var DC = window.DC;
  var page = document.body.dataset.page;

  // Buttons that only a page without scripts needs (e.g. "Show free times").
  function hideNoJsOnly() {
    document.querySelectorAll("[data-no-js-only]").forEach(function (el) { el.hidden = true; });
  }
  hideNoJsOnly();
  document.addEventListener("htmx:afterSettle", hideNoJsOnly);

  /* ------------------------------------------------------------------ the treatment page */

  if (page === "treatment-dentists") {
    var list = document.getElementById("treatment-dentists");
    var ids = list ? (list.dataset.dentistIds || "").split(" ").filter(Boolean) : [];
    ids.forEach(function (id) {
      DC.realtime().subscribe("availability:" + id, {
        onEvent: function () { DC.refresh("treatment-dentists"); },
        onSync: function () { return DC.refresh("treatment-dentists"); },
      });
    });
    return;
  }

  if (page !== "dentist") return;

  /* ------------------------------------------------------------------ the hold */

  var picker = function () { return document.getElementById("booking-picker"); };
  var box = function () { return document.getElementById("held-slot"); };
  var countdown = null;

  /** The start this browser holds, as the time box says: {date, time} or null. */
  function held() {
    var el = box();
    if (!el || !el.dataset.holdDate) return null;
    return { date: el.dataset.holdDate, time: el.dataset.holdTime };
  }

  function isHeld(button) {
    var mine = held();
    return !!mine && button.dataset.date === mine.date && button.dataset.time === mine.time;
  }

  function markPressed() {
    var el = picker();
    if (!el) return;
    el.querySelectorAll("button.slot").forEach(function (button) {
      var on = isHeld(button);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      if (on) setTaken(button, false);
    });
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  /** Count the hold down from the seconds the server gave (the browser's clock may be off). */
  function startCountdown() {
    clearInterval(countdown);
    var el = box();
    if (!el || !el.dataset.holdSeconds) return;
    var deadline = Date.now() + Number(el.dataset.holdSeconds) * 1000;
    var shown = el.querySelector("[data-hold-countdown]");
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      if (shown) shown.textContent = " (" + clock(left) + " left)";
      if (left > 0) return;
      clearInterval(countdown);
      expired(el);
    }
    tick();
    countdown = setInterval(tick, 1000);
  }

  /** The hold ran out: the start is nobody's now (the server releases it within seconds). */
  function expired(el) {
    var was = held();
    delete el.dataset.holdDate;
    delete el.dataset.holdTime;
    delete el.dataset.holdSeconds;
    el.classList.remove("is-chosen");
    var note = el.querySelector("[data-hold-note], [data-testid=hold-note]");
    if (note) note.textContent = "Your hold has ended. Choose the time again: it may still be free.";
    markPressed();
    if (was) recheck(was.date);
  }

  /* ------------------------------------------------------------------ live greying */

  function setTaken(button, taken) {
    button.disabled = taken;
    button.classList.toggle("is-taken", taken);
    var label = button.getAttribute("aria-label") || "";
    var base = label.replace(/, taken$/, "");
    button.setAttribute("aria-label", taken ? base + ", taken" : base);
  }

  var checking = {}; // date → {running, again}

  /** Ask /slots again for one day and grey out the starts that are no longer free. */
  function recheck(date) {
    var el = picker();
    if (!el || date < el.dataset.firstDay || date > el.dataset.lastDay) return;
    var entry = checking[date] || (checking[date] = { running: false, again: false });
    if (entry.running) { entry.again = true; return; }
    entry.running = true;
    // The page's own route, not /api/…/slots: it looks past this browser's own hold, so
    // the starts that overlap it stay pickable (picking one gives the hold back).
    var url = "/dentists/" + encodeURIComponent(el.dataset.dentistId) + "/free-times?day=" + date +
      "&treatment=" + encodeURIComponent(el.dataset.treatmentId);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        var current = picker();
        if (!body || current !== el) return;
        var free = new Set(body.times);
        var buttons = el.querySelectorAll('button.slot[data-date="' + date + '"]');
        var known = new Set();
        buttons.forEach(function (button) {
          known.add(button.dataset.time);
          if (!isHeld(button)) setTaken(button, !free.has(button.dataset.time));
        });
        // A start the page never showed came free (a hold that was there at load went):
        // the server draws the week again.
        var fresh = Array.from(free).some(function (t) { return !known.has(t); });
        if (fresh) DC.refresh("booking-picker");
      })
      .catch(function () { DC.refresh("booking-picker"); })
      .then(function () {
        entry.running = false;
        if (entry.again) { entry.again = false; recheck(date); }
      });
  }

  /* ------------------------------------------------------------------ the dentist goes */

  /** The dentist was removed while the page was open: no booking form any more. */
  function closeBooking() {
    var form = document.getElementById("booking-form");
    if (!form || form.hasAttribute("data-gone")) return;
    var notice = document.createElement("section");
    notice.id = "booking-form";
    notice.className = "card booking-form";
    notice.setAttribute("data-gone", "");
    notice.setAttribute("data-testid", "booking-closed");
    notice.setAttribute("role", "status");
    var title = document.createElement("h2");
    title.textContent = "No longer taking bookings";
    var text = document.createElement("p");
    text.textContent = "This dentist is not taking bookings here any more. ";
    var link = document.createElement("a");
    link.href = "/book";
    link.textContent = "Choose a treatment";
    text.appendChild(link);
    text.appendChild(document.createTextNode(" to see who offers it."));
    notice.appendChild(title);
    notice.appendChild(text);
    form.replaceWith(notice);
    var note = document.querySelector(".booking-side .side-note");
    if (note) note.remove();
    clearInterval(countdown);
  }

  function afterPickerState() {
    var el = picker();
    if (!el) return;
    if (el.hasAttribute("data-gone")) closeBooking();
    // Hours appeared for a dentist who had none: the page comes back with its form.
    if (document.querySelector("[data-no-hours]") && el.querySelector("button.slot")) {
      window.location.reload();
    }
  }

  /* ------------------------------------------------------------------ wiring */

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "held-slot" || target.id === "booking-form") startCountdown();
    if (target.id === "held-slot" && window.matchMedia("(max-width: 900px)").matches && held()) {
      // On a phone the form is below the calendar: bring it into view.
      var form = document.getElementById("booking-form");
      if (form) form.scrollIntoView({ behavior: "smooth", block: "start" });
    }
    if (target.id === "booking-picker") afterPickerState();
    // Changing the treatment keeps the week in view.
    var week = document.querySelector("[data-testid=treatment-choice] input[name=week]");
    if (week && picker()) week.value = picker().dataset.firstDay;
    markPressed();
  });

  // A start could not be held (taken meanwhile): the server draws the week again.
  document.body.addEventListener("dc:slots-stale", function () { DC.refresh("booking-picker"); });

  var el = picker();
  if (el) {
    markPressed();
    startCountdown();
    DC.realtime().subscribe("availability:" + el.dataset.dentistId, {
      onEvent: function (event) {
        if (event.table === "slots" && event.record && event.record.date) {
          recheck(event.record.date);
        } else {
          // Hours or time off changed: the server recomputes the week.
          DC.refresh("booking-picker");
        }
      },
      onSync: function () { return DC.refresh("booking-picker"); },
    });
    var dentistId = el.dataset.dentistId;
    DC.realtime().subscribe("dentists", {
      onEvent: function (event) {
        var record = event.record || event.old_record;
        if (record && record.id === dentistId && (!event.record || event.record.active === false)) {
          DC.refresh("booking-picker"); // the server answers that they take no bookings
          closeBooking();
        }
      },
    });
  }
})();
