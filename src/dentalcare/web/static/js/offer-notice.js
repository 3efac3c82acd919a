/*
 * offer-notice.js: a logged-in patient's waitlist offers, live on every page they have open.
 *
 * The `waitlist` channel brings a patient the events of their own entries only (API.md,
 * waitlist "As built"). An offer event refetches the notice from /my/offers, which the
 * server renders (names, times on the dentist's clock); Book it and No thanks are htmx
 * forms whose replies replace it. The region around it (role="status") stays, so a
 * screen reader hears each change.
 */
(function () {
  "use strict";

  var DC = window.DC;
  if (!DC || DC.role !== "patient" || !document.getElementById("offer-notice")) return;

  DC.realtime().subscribe("waitlist", {
    onEvent: function (event) {
      var change = event.record || {};
      if (change.kind !== "offer") return;
      // This tab booked it: the notice says so until dismissed.
      if (document.querySelector('#offer-notice [data-booked-entry="' + change.entry_id + '"]')) return;
      DC.refresh("offer-notice");
    },
    onSync: function () { return DC.refresh("offer-notice"); },
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-offer-dismiss]");
    if (!button) return;
    var notice = button.closest(".offer-notice");
    if (notice) notice.remove();
    var main = document.getElementById("main");
    if (main) main.focus();
  });

  // After Book it / No thanks the buttons are gone: keep the keyboard on the answer.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "offer-notice" || !event.detail.requestConfig) return;
    if (event.detail.requestConfig.verb !== "post") return;
    var focus = document.querySelector("#offer-notice [data-offer-focus]");
    if (focus) focus.focus();
    else if (document.getElementById("main")) document.getElementById("main").focus();
  });
})();
