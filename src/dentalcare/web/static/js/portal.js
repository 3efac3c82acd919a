/*
 * portal.js: the dentist portal and the admin dashboard: live appointment lists with
 * new-booking toasts, the live dentist list, an appointment's live message log, and the
 * weekly hours editor.
 */
(function () {
  "use strict";

  var DC = window.DC;
  var page = document.body.dataset.page;
  var SOURCES = { manual: "the website", chatbot: "the chatbot", admin: "the clinic", front_desk: "the front desk" };

  function appointmentToast(event) {
    var now = event.record;
    var before = event.old_record;
    if (!now || DC.isOwnAction(now)) return;
    if (event.op === "INSERT") {
      DC.toast("New booking via " + (SOURCES[now.booking_source] || now.booking_source) + ": " +
        now.patient_name + ", " + DC.when(now) + ".", "info");
    } else if (before && now.status !== before.status && now.status === "cancelled") {
      DC.toast("Cancelled: " + now.patient_name + ", " + DC.when(now) + ".", "error");
    } else if (before && (now.appointment_date !== before.appointment_date || now.appointment_time !== before.appointment_time)) {
      DC.toast("Moved: " + now.patient_name + " is now " + DC.when(now) + ".", "info");
    }
  }

  var liveIds = {
    "dentist-board": ["board"],
    "admin-appointments": ["admin-appointments"],
    "admin-day": ["day"],
  }[page];
  if (liveIds) {
    DC.realtime().subscribe("appointments", {
      onEvent: function (event) {
        appointmentToast(event);
        liveIds.forEach(DC.refresh);
      },
      onSync: function () { return Promise.all(liveIds.map(DC.refresh)); },
    });
  }

  /*
   * The appointment detail page's message log, live: a message's status changes on the
   * `messages` channel; a new message (a confirmation, say) or cancelled reminders come
   * with a change of the appointment itself, on `appointments`. Either refetches the log.
   */
  var messageLog = page === "appointment-detail" && document.getElementById("message-log");
  if (messageLog) {
    var appointmentId = messageLog.dataset.appointmentId;
    var refreshLog = function () { return DC.refresh("message-log"); };
    DC.realtime().subscribe("messages", {
      onEvent: function (event) {
        if (event.record && event.record.appointment_id === appointmentId) refreshLog();
      },
      onSync: refreshLog,
    });
    DC.realtime().subscribe("appointments", {
      onEvent: function (event) {
        var record = event.record || event.old_record;
        if (record && record.id === appointmentId) refreshLog();
      },
      onSync: refreshLog,
    });
  }

  if (page === "admin-dentists") {
    DC.realtime().subscribe("dentists", {
      onEvent: function () { DC.refresh("dentist-list"); },
      onSync: function () { return DC.refresh("dentist-list"); },
    });
  }

  /* ------------------------------------------------------------------ weekly hours editor */

  function dayLabelFor(fieldset) {
    var legend = fieldset.querySelector("legend");
    return legend ? legend.textContent.trim() : "";
  }

  function updateClosed(fieldset) {
    var note = fieldset.querySelector("[data-closed-note]");
    if (note) note.hidden = !!fieldset.querySelector(".window-row");
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest && event.target.closest("[data-action=add-window]");
    if (add) {
      var fieldset = add.closest("fieldset");
      var template = document.getElementById("window-row-template");
      if (!fieldset || !template) return;
      var row = template.content.firstElementChild.cloneNode(true);
      var day = dayLabelFor(fieldset);
      row.querySelector("input[name=day]").value = add.dataset.day;
      row.querySelector("[data-from-label]").textContent = day + ", from";
      row.querySelector("[data-until-label]").textContent = day + ", until";
      row.querySelector("[data-action=remove-window]").setAttribute("aria-label", "Remove these " + day + " hours");
      // A second range on a day usually starts after the first: suggest the afternoon.
      var last = fieldset.querySelectorAll(".window-row input[name=end_time]");
      if (last.length) {
        var end = last[last.length - 1].value.match(/^(\d{1,2})[:.](\d{2})$/) || [null, "12", "30"];
        var h = Math.min(22, parseInt(end[1], 10) + 1);
        row.querySelector("input[name=start_time]").value = (h < 10 ? "0" : "") + h + ":" + end[2];
        row.querySelector("input[name=end_time]").value = (h + 3 < 10 ? "0" : "") + Math.min(23, h + 3) + ":" + end[2];
      }
      fieldset.querySelector("[data-windows]").appendChild(row);
      updateClosed(fieldset);
      row.querySelector("input[name=start_time]").focus();
      return;
    }
    var remove = event.target.closest && event.target.closest("[data-action=remove-window]");
    if (remove) {
      var owner = remove.closest("fieldset");
      var rowToGo = remove.closest(".window-row");
      var next = owner.querySelector("[data-action=add-window]");
      rowToGo.remove();
      updateClosed(owner);
      if (next) next.focus();
    }
  });
})();
