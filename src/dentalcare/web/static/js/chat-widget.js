/*
 * chat-widget.js: the booking assistant on any page, self-contained (no build step).
 *
 *   <script src="/static/js/chat-widget.js" defer></script>
 *   (optionally after realtime.js: offered slots that someone else takes are marked live)
 *
 * Talks to the chat API (API.md, "Chatbot"): POST /api/chat/sessions once, then
 * POST /api/chat/sessions/{id}/messages per message; the session id is kept in
 * sessionStorage so a page reload continues the conversation (GET /api/chat/sessions/{id}).
 * A logged-in patient's portal cookie travels with the requests (same origin), so the
 * session is theirs. Quick replies are buttons that send their `value`.
 */
(function () {
  "use strict";

  var STORE_KEY = "dc-chat-session";
  // The stylesheet sits beside the script: .../js/chat-widget.js -> .../css/chat-widget.css
  // (a file, not an inline <style>: the pages' CSP allows styles from 'self' only).
  var SCRIPT_SRC = (document.currentScript && document.currentScript.src) || "/static/js/chat-widget.js";
  var CSS_HREF = SCRIPT_SRC.replace(/js\/chat-widget\.js(\?.*)?$/, "css/chat-widget.css");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function ChatWidget() {
    this.sessionId = null;
    this.busy = false;
    this.slotButtons = new Map(); // "dentist|date|time" -> button of the latest offer
    this.realtime = null;
    this._build();
  }

  ChatWidget.prototype._build = function () {
    var self = this;
    var link = el("link");
    link.rel = "stylesheet";
    link.href = CSS_HREF;
    document.head.appendChild(link);

    document.body.classList.add("dcchat-present");
    this.opener = el("button", "dcchat-open", "Book with our assistant");
    this.opener.type = "button";
    this.opener.setAttribute("aria-controls", "dcchat");
    this.opener.title = "Book with our assistant";

    this.panel = el("section", "dcchat");
    this.panel.id = "dcchat";
    this.panel.hidden = true;
    this.panel.setAttribute("aria-label", "Booking assistant");
    var header = el("header", "", "");
    header.appendChild(el("span", "", "DentalCareConnect assistant"));
    var close = el("button", "", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close the assistant");
    header.appendChild(close);
    this.log = el("div", "dcchat-log");
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.form = el("form");
    this.input = el("input");
    this.input.placeholder = "Type your message…";
    this.input.maxLength = 2000;
    this.input.setAttribute("aria-label", "Your message");
    var send = el("button", "", "Send");
    send.type = "submit";
    this.form.appendChild(this.input);
    this.form.appendChild(send);
    this.panel.appendChild(header);
    this.panel.appendChild(this.log);
    this.panel.appendChild(this.form);
    document.body.appendChild(this.opener);
    document.body.appendChild(this.panel);

    this.opener.addEventListener("click", function () { self.open(); });
    close.addEventListener("click", function () { self.close(); });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (text) self.send(text);
    });
  };

  ChatWidget.prototype.open = function () {
    this.opener.hidden = true;
    this.panel.hidden = false;
    this.input.focus();
    if (!this.sessionId) this._resume();
    this._followAvailability();
  };

  ChatWidget.prototype.close = function () {
    this.panel.hidden = true;
    this.opener.hidden = false;
  };

  ChatWidget.prototype._request = function (method, path, body) {
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) {
          var error = new Error(json.detail || "Something went wrong.");
          error.status = response.status;
          throw error;
        }
        return json;
      });
    });
  };

  ChatWidget.prototype._resume = function () {
    var self = this;
    var stored = null;
    try { stored = window.sessionStorage.getItem(STORE_KEY); } catch (err) { stored = null; }
    if (!stored) return this._start();
    return this._request("GET", "/api/chat/sessions/" + encodeURIComponent(stored))
      .then(function (session) {
        self.sessionId = session.session_id;
        session.messages.forEach(function (message) { self._render(message, false); });
        self._markOffer(session.state, session.messages);
      })
      .catch(function () { return self._start(); });
  };

  ChatWidget.prototype._start = function () {
    var self = this;
    return this._request("POST", "/api/chat/sessions").then(function (session) {
      self.sessionId = session.session_id;
      try { window.sessionStorage.setItem(STORE_KEY, session.session_id); } catch (err) { /* private mode */ }
      session.messages.forEach(function (message) { self._render(message, true); });
    }).catch(function (err) { self._note(err.message); });
  };

  ChatWidget.prototype.send = function (text) {
    var self = this;
    if (this.busy || !this.sessionId) return;
    this.busy = true;
    this.input.value = "";
    this._render({ role: "user", text: text, quick_replies: [] }, false);
    this._request("POST", "/api/chat/sessions/" + encodeURIComponent(this.sessionId) + "/messages", { text: text })
      .then(function (turn) {
        turn.messages.forEach(function (message) { self._render(message, true); });
        self._markOffer(turn.state, turn.messages);
        if (turn.appointment) {
          self.panel.dispatchEvent(new CustomEvent("dc:chat-appointment", { detail: turn.appointment, bubbles: true }));
        }
      })
      .catch(function (err) {
        if (err.status === 404) {
          try { window.sessionStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
          self.sessionId = null;
          self._start();
        }
        self._note(err.message);
      })
      .then(function () { self.busy = false; self.input.focus(); });
  };

  ChatWidget.prototype._render = function (message, interactive) {
    var self = this;
    var bubble = el("div", "dcchat-msg dcchat-" + (message.role === "user" ? "user" : "assistant"), message.text);
    this.log.appendChild(bubble);
    if (interactive && message.quick_replies && message.quick_replies.length) {
      this._disableOldReplies();
      var row = el("div", "dcchat-replies");
      message.quick_replies.forEach(function (reply) {
        var button = el("button", "", reply.label);
        button.type = "button";
        button.dataset.value = reply.value;
        button.addEventListener("click", function () { self.send(reply.value); });
        row.appendChild(button);
      });
      this.log.appendChild(row);
    }
    this.log.scrollTop = this.log.scrollHeight;
  };

  ChatWidget.prototype._disableOldReplies = function () {
    this.log.querySelectorAll(".dcchat-replies button").forEach(function (button) { button.disabled = true; });
    this.slotButtons.clear();
  };

  ChatWidget.prototype._note = function (text) {
    this.log.appendChild(el("div", "dcchat-note", text));
    this.log.scrollTop = this.log.scrollHeight;
  };

  // The offered slots (state.collected.offered) come in the order of the latest offer's
  // first quick replies: remember which button stands for which slot.
  ChatWidget.prototype._markOffer = function (state, messages) {
    var offered = (state && state.collected && state.collected.offered) || [];
    if (!offered.length || state.stage !== "slot") return;
    var rows = this.log.querySelectorAll(".dcchat-replies");
    var row = rows[rows.length - 1];
    if (!row) return;
    var buttons = row.querySelectorAll("button");
    var self = this;
    offered.forEach(function (slot, index) {
      if (buttons[index]) self.slotButtons.set([slot.dentist_id, slot.date, slot.time].join("|"), buttons[index]);
    });
  };

  // Live awareness: with realtime.js on the page, a slot someone else takes is struck out
  // at once (the assistant re-checks on the server anyway and never books a taken slot).
  ChatWidget.prototype._followAvailability = function () {
    if (this.realtime || typeof window.DCRealtime !== "function") return;
    var self = this;
    this.realtime = new window.DCRealtime({});
    this.realtime.subscribe("availability", {
      onEvent: function (event) {
        if (event.table !== "slots" || event.op !== "TAKEN" || !event.record) return;
        var key = [event.record.dentist_id, event.record.date, event.record.time].join("|");
        var button = self.slotButtons.get(key);
        if (button && !button.disabled) {
          button.disabled = true;
          button.title = "Just taken by someone else";
          self._note(button.textContent + " has just been taken.");
        }
      },
      onSync: function () { return null; }
    });
  };

  function boot() {
    if (window.DCChatWidget) return;
    window.DCChatWidget = new ChatWidget();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
