// The alert feed: every alert the page knows of, newest first, each shown once (by id) and
// always from its newest payload, filtered on the client by the same filters the API gets.

import { AlertRow } from "./alert_row.js";
import { isAtLeastAsNew, normalizeEvent } from "./format.js";
import { setText } from "./dom.js";

/** Rows kept on the page; older ones stay reachable through the event pages and the API. */
const MAX_ROWS = 400;

export class AlertFeed extends EventTarget {
  /**
   * @param {HTMLOListElement} list
   * @param {{filters: import("./filters.js").FeedFilters, canHandle: boolean, user: {id: number},
   *          empty: HTMLElement, count: HTMLElement}} options
   */
  constructor(list, { filters, canHandle, user, empty, count }) {
    super();
    this.list = list;
    this.filters = filters;
    this.options = { canHandle, user };
    this.empty = empty;
    this.count = count;
    /** @type {Map<number, AlertRow>} */
    this.rows = new Map();
    window.setInterval(() => this.tick(), 1000);
  }

  /** @param {number} id */
  get(id) {
    return this.rows.get(id)?.event;
  }

  /** @returns {number[]} ids on the page, newest first */
  ids() {
    return [...this.rows.keys()].sort((a, b) => b - a);
  }

  /**
   * Add an alert, or update it from a payload at least as new as the one shown.
   * @param {Record<string, any>} raw a socket payload or an API event
   * @returns {"added"|"updated"|"stale"}
   */
  upsert(raw) {
    const event = normalizeEvent(raw);
    const row = this.rows.get(event.id);
    if (row) {
      if (!isAtLeastAsNew(event, row.event)) return "stale";
      row.update(event);
      row.item.hidden = !this.filters.matches(event);
      this.summarise();
      this.dispatchEvent(new CustomEvent("updated", { detail: event }));
      return "updated";
    }
    const added = new AlertRow(event, this.options);
    added.item.hidden = !this.filters.matches(event);
    this.rows.set(event.id, added);
    this.place(added);
    this.prune();
    this.summarise();
    return "added";
  }

  /** Insert a new row by id, newest on top: a back-filled alert lands where it belongs. */
  place(row) {
    const id = row.event.id;
    let before = null;
    for (const node of this.list.children) {
      if (Number(/** @type {HTMLElement} */ (node).dataset.eventId) < id) {
        before = node;
        break;
      }
    }
    this.list.insertBefore(row.item, before);
  }

  prune() {
    if (this.rows.size <= MAX_ROWS) return;
    for (const id of this.ids().slice(MAX_ROWS)) {
      this.rows.get(id)?.item.remove();
      this.rows.delete(id);
    }
  }

  applyFilters(now = Date.now()) {
    this.rows.forEach((row) => { row.item.hidden = !this.filters.matches(row.event, now); });
    this.summarise();
  }

  tick() {
    const now = Date.now();
    this.rows.forEach((row) => row.tick(now));
    if (this.filters.since(now) !== null) this.applyFilters(now); // "last 15 min" moves on
  }

  summarise() {
    const shown = [...this.rows.values()].filter((row) => !row.item.hidden).length;
    this.empty.hidden = shown > 0;
    setText(this.empty, this.rows.size ? "No alerts match the filters." : "No alerts yet.");
    setText(this.count, this.filters.active() ? `${shown} of ${this.rows.size} shown` : `${this.rows.size}`);
  }
}
