// A WebSocket to Vigil that stays connected: reconnects with capped exponential backoff and
// jitter, notices dead connections (heartbeat), and pauses while the browser is offline.

import { backoffDelay } from "./backoff.js";

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;

/**
 * @typedef {"connecting"|"open"|"waiting"|"denied"} SocketState
 * "waiting": lost, the next attempt is at `retryAt`; "denied": the server refused the user
 * (signed out, or no role): retrying cannot help.
 */

/**
 * Events: "state" (detail: this), "open" (every (re)connection: callers resubscribe and
 * back-fill there), "message" (detail: parsed JSON), "binary" (detail: ArrayBuffer).
 */
export class ReconnectingSocket extends EventTarget {
  /**
   * @param {string} path e.g. "/ws/events/"
   * @param {{pingEveryMs?: number, deadAfterMs?: number, stableAfterMs?: number}} [options]
   */
  constructor(path, { pingEveryMs = 10000, deadAfterMs = 25000, stableAfterMs = 5000 } = {}) {
    super();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = `${scheme}://${location.host}${path}`;
    this.pingEveryMs = pingEveryMs;
    this.deadAfterMs = deadAfterMs;
    this.stableAfterMs = stableAfterMs;
    /** @type {SocketState} */
    this.state = "connecting";
    /** @type {WebSocket|null} */
    this.ws = null;
    this.attempt = 0;
    this.retryAt = 0;
    /** When the connection was lost (ms), 0 while connected. */
    this.lostAt = 0;
    this.everOpened = false;
    this.lastHeardAt = 0;
    this.timers = { retry: 0, ping: 0, stable: 0 };
    window.addEventListener("offline", () => this.drop());
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() {
    this.connect();
    return this;
  }

  /** @param {object} message sent as JSON; false when not connected (the caller resends on "open") */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Try again now rather than at the scheduled time (a button, the network coming back). */
  reconnectNow() {
    if (this.state !== "waiting") return;
    clearTimeout(this.timers.retry);
    this.connect();
  }

  connect() {
    this.setState("connecting");
    if (!navigator.onLine) {
      this.scheduleRetry(); // would fail anyway; "online" brings us back at once
      return;
    }
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.everOpened = true;
      this.lostAt = 0;
      this.lastHeardAt = Date.now();
      this.setState("open");
      // The backoff starts over only once a connection has held for a while: a server that
      // accepts and drops at once must not be hammered at the base delay.
      this.timers.stable = window.setTimeout(() => { this.attempt = 0; }, this.stableAfterMs);
      this.timers.ping = window.setInterval(() => this.heartbeat(), this.pingEveryMs);
      this.dispatchEvent(new Event("open"));
    });
    ws.addEventListener("message", (message) => {
      if (ws !== this.ws) return;
      this.lastHeardAt = Date.now();
      if (typeof message.data !== "string") {
        this.dispatchEvent(new CustomEvent("binary", { detail: message.data }));
        return;
      }
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data && data.type !== "pong") this.dispatchEvent(new CustomEvent("message", { detail: data }));
    });
    ws.addEventListener("close", (close) => {
      if (ws !== this.ws) return;
      if (close.code === CLOSE_UNAUTHENTICATED || close.code === CLOSE_FORBIDDEN) {
        this.detach();
        this.setState("denied");
        return;
      }
      this.lost();
    });
  }

  /** Ping; a connection silent for `deadAfterMs` (no pong, no frame) is given up. */
  heartbeat() {
    if (Date.now() - this.lastHeardAt > this.deadAfterMs) {
      this.drop();
      return;
    }
    this.send({ type: "ping" });
  }

  /**
   * Give up the current connection now. `close()` on a half-open socket can take minutes
   * to fire "close", so the socket is detached first and the retry scheduled at once.
   */
  drop() {
    if (!this.ws) return;
    this.lost();
  }

  lost() {
    this.detach();
    this.scheduleRetry();
  }

  detach() {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.stable);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
  }

  scheduleRetry() {
    if (!this.lostAt) this.lostAt = Date.now();
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    clearTimeout(this.timers.retry);
    this.timers.retry = window.setTimeout(() => this.connect(), delay);
    this.setState("waiting");
  }

  /** @param {SocketState} state */
  setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: this }));
  }
}
