/*
 * patient.js: the live directory, the slot picker and booking form, and My appointments.
 */
(function () {
  "use strict";

  var DC = window.DC;
  var page = document.body.dataset.page;

  /* ------------------------------------------------------------------ directory */

  if (page === "directory") {
    DC.realtime().subscribe("dentists", {
      onEvent: function () { DC.refresh("results"); },
      onSync: function () { return DC.refresh("results"); },
    });
  }

  /* ------------------------------------------------------------------ slot picker */

  var picker = function () { return document.getElementById("slot-picker"); };
  var slotForm = function () { return document.querySelector("form[data-slot-form]"); };
  var selected = null; // {date, time}

  function restoreSelection() {
    var form = slotForm();
    if (!form) return;
    var date = form.querySelector("input[name=appointment_date]").value;
    var time = form.querySelector("input[name=appointment_time]").value;
    var shown = text(form);
    selected = date && time ? { date: date, time: time, label: shown } : null;
    markPressed();
  }

  /** What the form says is chosen (the server wrote it with the zone: "... at 10:30 EST"). */
  function text(form) {
    var el = form.querySelector("[data-selected-text]");
    return el && form.querySelector("input[name=appointment_time]").value ? el.textContent.trim() : "";
  }

  /** A choice as a patient reads it. */
  function said(choice) {
    return choice.label || DC.dayLabel(choice.date) + " at " + choice.time;
  }

  function markPressed() {
    document.querySelectorAll("button.slot").forEach(function (button) {
      var on = !!selected && button.dataset.date === selected.date && button.dataset.time === selected.time;
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  function setSelection(choice, notice) {
    selected = choice;
    var form = slotForm();
    if (form) {
      form.querySelector("input[name=appointment_date]").value = choice ? choice.date : "";
      form.querySelector("input[name=appointment_time]").value = choice ? choice.time : "";
      var shown = form.querySelector("[data-selected-text]");
      if (shown) shown.textContent = choice ? said(choice) : "Choose a free time in the calendar";
      var box = form.querySelector("[data-selected-slot]");
      var gone = form.querySelector("[data-slot-gone]");
      if (box) box.classList.toggle("is-chosen", !!choice);
      if (box && choice) box.classList.remove("has-error");
      if (gone) {
        gone.hidden = !notice;
        gone.textContent = notice || "";
      }
      if (choice && box) {
        var error = box.querySelector("#err-appointment_time");
        if (error) error.remove();
      }
    }
    markPressed();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.slot");
    if (!button) return;
    // The button's label says the day, the time and its zone ("... at 10:30 EST").
    setSelection({ date: button.dataset.date, time: button.dataset.time, label: button.getAttribute("aria-label") }, null);
    var form = slotForm();
    var first = form && form.querySelector("input:not([type=hidden]), textarea");
    // On a phone the form is below the calendar: bring it into view.
    if (form && window.matchMedia("(max-width: 900px)").matches) {
      form.scrollIntoView({ behavior: "smooth", block: "start" });
    } else if (first && !first.value) {
      first.focus({ preventScroll: true });
    }
  });

  function minutes(hhmm) {
    var parts = hhmm.split(":").map(Number);
    return parts[0] * 60 + parts[1];
  }

  function updateCount() {
    var el = picker();
    if (!el) return;
    el.querySelectorAll(".picker-day").forEach(function (day) {
      var slots = day.querySelector(".picker-slots");
      if (slots && !slots.querySelector("button.slot") && !slots.querySelector(".picker-none")) {
        var none = document.createElement("p");
        none.className = "picker-none";
        none.textContent = "Fully booked";
        slots.appendChild(none);
      }
    });
  }

  /** A slot was booked elsewhere: remove the buttons it covers, at once. */
  function removeTaken(record) {
    var start = minutes(record.time);
    var end = start + (record.duration_minutes || 0);
    var lostSelection = false;
    document.querySelectorAll('button.slot[data-date="' + record.date + '"]').forEach(function (button) {
      var at = minutes(button.dataset.time);
      if (at >= start && (at < end || at === start)) {
        if (selected && selected.date === button.dataset.date && selected.time === button.dataset.time) {
          lostSelection = true;
        }
        button.remove();
      }
    });
    updateCount();
    if (lostSelection) {
      var was = selected;
      setSelection(null, "Sorry, " + said(was) + " was just booked by someone else. Please choose another time.");
      DC.toast("That time was just taken. Please choose another.", "info");
    }
  }

  /** After the picker is refetched: keep the choice if it is still free. */
  function afterPickerSwap() {
    var el = picker();
    if (!el || !selected) { markPressed(); return; }
    var shown = el.querySelector('[data-day="' + selected.date + '"]');
    var still = el.querySelector('button.slot[data-date="' + selected.date + '"][data-time="' + selected.time + '"]');
    if (shown && !still) {
      var was = selected;
      setSelection(null, said(was) + " is no longer available. Please choose another time.");
    } else {
      markPressed();
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "booking-form") restoreSelection();
    afterPickerSwap();
  });

  var el = picker();
  if (el && el.dataset.dentistId) {
    restoreSelection();
    DC.realtime().subscribe("availability:" + el.dataset.dentistId, {
      onEvent: function (event) {
        if (event.table === "slots" && event.op === "TAKEN") {
          removeTaken(event.record);
        } else {
          // A slot released, or hours / time off changed: the server recomputes the week.
          DC.refresh("slot-picker");
        }
      },
      onSync: function () { return DC.refresh("slot-picker"); },
    });
    var dentistId = el.dataset.dentistId;
    DC.realtime().subscribe("dentists", {
      onEvent: function (event) {
        var record = event.record || event.old_record;
        if (record && record.id === dentistId && (!event.record || event.record.active === false)) {
          DC.refresh("slot-picker");  // the server answers with "no longer taking bookings"
        }
      },
    });
  }

  /* ------------------------------------------------------------------ my appointments */

  if (page === "my") {
    DC.realtime().subscribe("appointments", {
      onEvent: function (event) {
        var now = event.record;
        var before = event.old_record;
        DC.refresh("my-list");
        if (!now || !before || DC.isOwnAction(now)) return;
        var row = document.querySelector('[data-testid="appointment-row"][data-id="' + now.id + '"]');
        now.dentist_name = now.dentist_name || (row && row.dataset.dentistName) || "The clinic";
        if (now.status !== before.status) {
          if (now.status === "confirmed") {
            DC.toast("Good news: " + now.dentist_name + " confirmed your appointment on " + DC.when(now) + ".", "success");
          } else if (now.status === "cancelled") {
            DC.toast(now.dentist_name + " cancelled your appointment on " + DC.when(now) + ".", "error");
          } else if (now.status === "completed") {
            DC.toast("Thanks for visiting " + now.dentist_name + "!", "info");
          }
        } else if (now.appointment_date !== before.appointment_date || now.appointment_time !== before.appointment_time) {
          DC.toast("Your appointment with " + now.dentist_name + " moved to " + DC.when(now) + ".", "info");
        }
      },
      onSync: function () { return DC.refresh("my-list"); },
    });
  }
})();
