// The alert feed's filters: one form, read two ways. As API query parameters for what is
// loaded from the server (the first page, back-fill after reconnecting), and as a predicate
// for what arrives live over the socket.

import { millis } from "./format.js";

/** "since" choices: seconds back from now. */
const SINCE_S = { "15m": 900, "1h": 3600, "24h": 86400, "7d": 604800 };
/** "status" choices that stand for several statuses. */
const STATUS_GROUPS = { open: ["new", "acknowledged"], closed: ["resolved", "dismissed"] };

export class FeedFilters extends EventTarget {
  /** @param {HTMLFormElement} form fields: camera, severity, status, rule, since */
  constructor(form) {
    super();
    this.form = form;
    form.addEventListener("change", () => this.dispatchEvent(new Event("change")));
    form.addEventListener("submit", (e) => e.preventDefault());
    form.addEventListener("reset", () => setTimeout(() => this.dispatchEvent(new Event("change"))));
  }

  /** @param {string} name */
  value(name) {
    const field = /** @type {HTMLSelectElement|null} */ (this.form.elements.namedItem(name));
    return field ? field.value : "";
  }

  /** @returns {string[]} the statuses asked for, [] for any */
  statuses() {
    const status = this.value("status");
    return STATUS_GROUPS[status] || (status ? [status] : []);
  }

  /** @returns {number|null} the oldest creation time asked for (epoch ms) */
  since(now = Date.now()) {
    const seconds = SINCE_S[this.value("since")];
    return seconds ? now - seconds * 1000 : null;
  }

  /** Whether any filter is set. */
  active() {
    return ["camera", "severity", "status", "rule", "since"].some((name) => this.value(name));
  }

  /**
   * The API's filters (events/api.py EventFilter), for /api/events/.
   * Events held back as repeats of a false positive, and those of rules that do not alert
   * operators, are never pushed live, so they are left out of what is loaded too.
   * @returns {URLSearchParams}
   */
  params(now = Date.now()) {
    const params = new URLSearchParams({ alerted: "true" });
    for (const name of ["camera", "severity", "rule"]) {
      if (this.value(name)) params.set(name, this.value(name));
    }
    if (this.statuses().length) params.set("status", this.statuses().join(","));
    const since = this.since(now);
    if (since !== null) params.set("created_after", new Date(since).toISOString());
    return params;
  }

  /**
   * The same filters, for an event that came over the socket.
   * @param {Record<string, any>} event normalised (format.js normalizeEvent)
   */
  matches(event, now = Date.now()) {
    if (this.value("camera") && Number(this.value("camera")) !== Number(event.camera_id)) return false;
    if (this.value("severity") && this.value("severity") !== event.severity) return false;
    if (this.value("rule") && Number(this.value("rule")) !== Number(event.rule_id)) return false;
    const statuses = this.statuses();
    if (statuses.length && !statuses.includes(event.status)) return false;
    const since = this.since(now);
    return since === null || millis(event.created_at) >= since;
  }
}
