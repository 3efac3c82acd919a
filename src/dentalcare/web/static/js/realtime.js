/*
 * realtime.js: the browser twin of the Python realtime SDK.
 *
 * Speaks the /api/realtime WebSocket protocol (see API.md): subscribe with `since` to
 * resume without gap or duplicate, refetch on `reset`, answer and send pings, renew the
 * access token with `auth` before it expires, and reconnect with jittered backoff (a few
 * seconds at least after a 4029: too many messages or sockets). A resubscription refused
 * as RateLimited is sent again after the `retry_after` it names.
 *
 *   const rt = new DCRealtime({ getToken: async () => ({ token, expires_in }) });
 *   rt.subscribe("availability:<id>", {
 *     onEvent(event) { ... },           // every event, in order, once
 *     onSync(kind) { return refetch() } // "fresh" (first subscribe) or "reset": refetch
 *   });
 */
(function () {
  "use strict";

  var PING_EVERY_MS = 25000;
  var IDLE_AFTER_MS = 75000;
  var BACKOFF_FIRST_MS = 250;
  var BACKOFF_MAX_MS = 15000;
  var TOKEN_INVALID = 4001;
  var RATE_LIMITED = 4029;
  var RATE_LIMITED_ATTEMPT = 4; // the back-off after a 4029 starts at 2-4 s

  function defaultUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + "/api/realtime";
  }

  function RealtimeClient(options) {
    options = options || {};
    this.url = options.url || defaultUrl();
    this.getToken = options.getToken || null;
    this.onState = options.onState || function () {};
    this.onAuthLost = options.onAuthLost || function () {};
    this.subs = new Map();
    this.socket = null;
    this.state = "idle";
    this.attempt = 0;
    this.refs = 0;
    this.stopped = false;
    this.lastSeen = 0;
    this.token = null;
    this.timers = { ping: null, reconnect: null, renew: null };
    var self = this;
    window.addEventListener("online", function () {
      if (!self.socket && !self.stopped) self._reconnectNow();
    });
  }

  RealtimeClient.prototype.subscribe = function (channel, handlers) {
    var sub = { channel: channel, handlers: handlers || {}, seq: null, head: null, ref: null, synced: false };
    this.subs.set(channel, sub);
    if (this._isOpen()) this._sendSubscribe(sub);
    else this._connect();
    var self = this;
    return function () { self.unsubscribe(channel); };
  };

  RealtimeClient.prototype.unsubscribe = function (channel) {
    if (!this.subs.delete(channel)) return;
    if (this._isOpen()) this._send({ type: "unsubscribe", ref: this._ref(), channel: channel });
  };

  RealtimeClient.prototype.close = function () {
    this.stopped = true;
    this._clearTimers();
    if (this.socket) this.socket.close(1000, "page closed");
    this._setState("off");
  };

  RealtimeClient.prototype._isOpen = function () {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN && this.socket.dcReady;
  };

  RealtimeClient.prototype._ref = function () {
    this.refs += 1;
    return String(this.refs);
  };

  RealtimeClient.prototype._send = function (message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  };

  RealtimeClient.prototype._setState = function (state) {
    if (this.state === state) return;
    this.state = state;
    try { this.onState(state); } catch (err) { console.error(err); }
  };

  RealtimeClient.prototype._fetchToken = async function () {
    if (!this.getToken) return null;
    var answer = await this.getToken();
    this.token = answer.token;
    var self = this;
    clearTimeout(this.timers.renew);
    var renewIn = Math.max(10, (answer.expires_in || 900) - 120) * 1000;
    this.timers.renew = setTimeout(function () { self._renewToken(); }, renewIn);
    return this.token;
  };

  RealtimeClient.prototype._renewToken = async function () {
    try {
      var token = await this._fetchToken();
      if (token && this._isOpen()) this._send({ type: "auth", ref: this._ref(), token: token });
    } catch (err) {
      this._handleTokenError(err);
    }
  };

  RealtimeClient.prototype._handleTokenError = function (err) {
    if (err && err.status === 401) {
      this.stopped = true;
      this._clearTimers();
      if (this.socket) this.socket.close(1000, "logged out");
      this._setState("off");
      this.onAuthLost();
      return true;
    }
    return false;
  };

  RealtimeClient.prototype._connect = async function () {
    if (this.socket || this.stopped || this.connecting) return;
    this.connecting = true;
    this._setState(this.attempt === 0 ? "connecting" : "reconnecting");
    var token = null;
    try {
      token = this.token || (await this._fetchToken());
    } catch (err) {
      this.connecting = false;
      if (!this._handleTokenError(err)) this._scheduleReconnect();
      return;
    }
    this.connecting = false;
    if (this.stopped) return;
    var ws = new WebSocket(this.url);
    var self = this;
    this.socket = ws;
    ws.dcReady = false;
    ws.onopen = function () {
      self.lastSeen = Date.now();
      // The token goes in an `auth` message rather than the URL, so it stays out of logs.
      if (token) ws.send(JSON.stringify({ type: "auth", ref: self._ref(), token: token }));
      ws.dcReady = true;
      self.subs.forEach(function (sub) { sub.synced = false; self._sendSubscribe(sub); });
      self._startPing();
    };
    ws.onmessage = function (frame) {
      self.lastSeen = Date.now();
      var message;
      try { message = JSON.parse(frame.data); } catch (err) { return; }
      self._onMessage(message);
    };
    ws.onclose = function (closed) {
      if (self.socket !== ws) return;
      self.socket = null;
      clearInterval(self.timers.ping);
      if (self.stopped) return;
      if (closed.code === TOKEN_INVALID) self.token = null;
      if (closed.code === RATE_LIMITED) self.attempt = Math.max(self.attempt, RATE_LIMITED_ATTEMPT);
      self._scheduleReconnect();
    };
    ws.onerror = function () { /* a close follows */ };
  };

  RealtimeClient.prototype._sendSubscribe = function (sub) {
    sub.ref = this._ref();
    var message = { type: "subscribe", ref: sub.ref, channel: sub.channel };
    if (sub.seq !== null) message.since = sub.seq;
    this._send(message);
  };

  RealtimeClient.prototype._sync = function (sub, kind) {
    var self = this;
    var done = function () { sub.synced = true; self._updateLive(); };
    var result;
    try { result = sub.handlers.onSync ? sub.handlers.onSync(kind) : null; } catch (err) { console.error(err); }
    Promise.resolve(result).then(done, done);
  };

  RealtimeClient.prototype._updateLive = function () {
    var all = true;
    this.subs.forEach(function (sub) { if (!sub.synced) all = false; });
    if (all && this._isOpen()) this._setState("live");
  };

  RealtimeClient.prototype._onMessage = function (message) {
    var sub = message.channel ? this.subs.get(message.channel) : null;
    switch (message.type) {
      case "subscribed":
        if (!sub) return;
        this.attempt = 0;
        sub.head = message.head;
        if (sub.seq === null) {
          // First subscription: what happened before `head` is in the page or refetched now.
          sub.seq = message.head;
          this._sync(sub, "fresh");
        } else {
          sub.synced = true;
          this._updateLive();
        }
        break;
      case "event":
        if (!sub) return;
        if (sub.seq !== null && message.seq <= sub.seq) return; // already seen
        sub.seq = message.seq;
        try { if (sub.handlers.onEvent) sub.handlers.onEvent(message); } catch (err) { console.error(err); }
        break;
      case "reset":
        if (!sub) return;
        // History before our position is gone: go on from the head and refetch over HTTP.
        sub.seq = sub.head;
        this._sync(sub, "reset");
        break;
      case "ping":
        this._send({ type: "pong" });
        break;
      case "error":
        if (message.error === "RateLimited") this._retryLater(message);
        this.subs.forEach(function (candidate) {
          if (candidate.ref !== null && candidate.ref === message.ref && candidate.handlers.onError) {
            candidate.handlers.onError(message);
          }
        });
        if (message.error) console.warn("realtime:", message.error, message.detail);
        break;
      default:
        break; // pong, authenticated, unsubscribed
    }
  };

  // A subscribe the server refused for now: send it again (with `since`, if it had one)
  // after the seconds the refusal named, if the sub and its socket are still there.
  RealtimeClient.prototype._retryLater = function (message) {
    var self = this;
    var socket = this.socket;
    this.subs.forEach(function (sub) {
      if (sub.ref === null || sub.ref !== message.ref) return;
      var delay = (message.retry_after || 1) * 1000 * (1 + Math.random() / 2);
      setTimeout(function () {
        if (self.subs.get(sub.channel) === sub && self.socket === socket && self._isOpen()) {
          self._sendSubscribe(sub);
        }
      }, delay);
    });
  };

  RealtimeClient.prototype._startPing = function () {
    var self = this;
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(function () {
      if (!self.socket) return;
      if (Date.now() - self.lastSeen > IDLE_AFTER_MS) {
        self.socket.close(4000, "no answer from the server"); // the close handler reconnects
        return;
      }
      self._send({ type: "ping" });
    }, PING_EVERY_MS);
  };

  RealtimeClient.prototype._scheduleReconnect = function () {
    this._setState("reconnecting");
    var base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, this.attempt));
    var delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    var self = this;
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(function () { self._connect(); }, delay);
  };

  RealtimeClient.prototype._reconnectNow = function () {
    clearTimeout(this.timers.reconnect);
    this._connect();
  };

  RealtimeClient.prototype._clearTimers = function () {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.reconnect);
    clearTimeout(this.timers.renew);
  };

  window.DCRealtime = RealtimeClient;
})();
