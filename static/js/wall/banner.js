// The "not live" banner: shown while any of the page's sockets is lost, with the seconds to
// the next attempt, when it was lost, and a button to try at once.

import { clock } from "./format.js";
import { el, setText } from "./dom.js";

export class ConnectionBanner {
  /**
   * @param {HTMLElement} root an empty element; the banner is built inside
   * @param {{socket: import("./socket.js").ReconnectingSocket, what: string}[]} watched
   * @param {{liveState?: HTMLElement|null}} [options] a small "live" / "reconnecting" badge to keep in step
   */
  constructor(root, watched, { liveState = null } = {}) {
    this.root = root;
    this.watched = watched;
    this.liveState = liveState;
    this.title = el("strong", "conn-title");
    this.detail = el("span", "conn-detail");
    this.retry = /** @type {HTMLButtonElement} */ (el("button", "conn-retry", "Retry now"));
    this.retry.type = "button";
    this.retry.addEventListener("click", () => watched.forEach(({ socket }) => socket.reconnectNow()));
    root.replaceChildren(this.title, this.detail, this.retry);
    root.setAttribute("role", "status");
    root.hidden = true;
    watched.forEach(({ socket }) => socket.addEventListener("state", () => this.render()));
    window.setInterval(() => this.render(), 250); // the countdown
    this.render();
  }

  render() {
    const now = Date.now();
    const denied = this.watched.filter(({ socket }) => socket.state === "denied");
    // A first connection that is still being made is not an outage; a lost one is.
    const down = this.watched.filter(({ socket }) => socket.state === "waiting"
      || (socket.state === "connecting" && socket.lostAt > 0));
    let state = "live";
    if (denied.length) {
      state = "denied";
      setText(this.title, "Not live: you are signed out or no longer allowed.");
      setText(this.detail, "Sign in again to get alerts.");
    } else if (down.length) {
      state = "reconnecting";
      const waits = down.filter(({ socket }) => socket.state === "waiting").map(({ socket }) => socket.retryAt - now);
      const seconds = waits.length ? Math.max(0, Math.ceil(Math.min(...waits) / 1000)) : 0;
      setText(this.title, `Reconnecting… (${seconds} s)`);
      const since = Math.min(...down.map(({ socket }) => socket.lostAt || now));
      const what = down.map(({ what }) => what).join(" and ");
      setText(this.detail, `${what} not live since ${clock(new Date(since).toISOString())}. `
        + "Alerts raised meanwhile are filled in on reconnecting.");
    } else if (this.watched.some(({ socket }) => socket.state === "connecting")) {
      state = "connecting";
    }
    this.root.hidden = state === "live" || state === "connecting";
    this.root.dataset.state = state;
    this.retry.hidden = state !== "reconnecting";
    if (this.liveState) {
      this.liveState.dataset.state = state === "live" ? "live" : state === "connecting" ? "connecting" : "down";
      setText(this.liveState, { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", denied: "signed out" }[state]);
    }
  }
}
