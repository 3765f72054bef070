// The review queue as the screen holds it: the items loaded so far, which one is current,
// and loading more. Items judged here stay in the list (marked), so K goes back to them.

import { api } from "../configure/api.js";

/** How many items one request asks for (the API's maximum page). */
const PAGE = 100;
/** Load more when fewer unjudged items than this are left after the current one. */
const LOW_WATER = 10;

/** Fields a correction changes on an item and undo (or a rollback) restores. */
export const STATE_FIELDS = ["status", "verdict", "label", "box", "reviewed_at"];

/**
 * The fields of `item` a correction changes, copied.
 * @param {Record<string, any>} item
 * @returns {Record<string, any>}
 */
export function stateOf(item) {
  return Object.fromEntries(STATE_FIELDS.map((key) => [key, Array.isArray(item[key]) ? [...item[key]] : item[key]]));
}

export class Queue {
  /** @param {string} base the review API's root, e.g. "/api/review/" */
  constructor(base) {
    this.base = base;
    /** @type {any[]} */
    this.items = [];
    this.index = 0;
    /** Items the server counts for these filters (unreviewed: still waiting). */
    this.count = 0;
    /** @type {URLSearchParams} */
    this.filters = new URLSearchParams();
    /** @type {string|null} the next page (reviewed items only: the ranked queue is refetched from the top) */
    this.nextUrl = null;
    this.loading = false;
    this.generation = 0;
  }

  get reviewedMode() {
    return this.filters.get("status") === "reviewed";
  }

  /** @returns {any|null} */
  get current() {
    return this.items[this.index] ?? null;
  }

  /**
   * Load the first page for `filters` (replacing the list).
   * @param {URLSearchParams} filters
   * @returns {Promise<import("../configure/api.js").ApiResult>}
   */
  async load(filters) {
    this.filters = filters;
    const generation = ++this.generation;
    const params = new URLSearchParams(filters);
    params.set("limit", String(PAGE));
    this.loading = true;
    const result = await api("GET", `${this.base}queue/?${params}`);
    if (generation !== this.generation) return result; // filters changed meanwhile
    this.loading = false;
    if (result.ok) {
      this.items = result.data.results;
      this.count = result.data.count;
      this.nextUrl = result.data.next;
      this.index = 0;
    }
    return result;
  }

  /** Whether to fetch more now: the unjudged items after the current one run low. */
  wantsMore() {
    if (this.loading) return false;
    if (this.reviewedMode) return false; // the "Load more" button pages through reviewed items
    const left = this.items.slice(this.index + 1).filter((item) => item.status !== "reviewed").length;
    return left < LOW_WATER && this.unjudged() < this.count;
  }

  unjudged() {
    return this.items.filter((item) => item.status !== "reviewed").length;
  }

  /**
   * More items: the ranked queue again from the top (judging items reorders it, so an offset
   * would skip some), keeping only items not already in the list; reviewed items page on.
   * @returns {Promise<import("../configure/api.js").ApiResult|null>}
   */
  async more() {
    let url;
    if (this.reviewedMode) {
      if (!this.nextUrl) return null;
      url = this.nextUrl;
    } else {
      const params = new URLSearchParams(this.filters);
      params.set("limit", String(PAGE));
      url = `${this.base}queue/?${params}`;
    }
    const generation = this.generation;
    this.loading = true;
    const result = await api("GET", url);
    this.loading = false;
    if (generation !== this.generation || !result.ok) return result;
    const known = new Set(this.items.map((item) => item.id));
    this.items.push(...result.data.results.filter((item) => !known.has(item.id)));
    this.count = result.data.count;
    if (this.reviewedMode) this.nextUrl = result.data.next;
    return result;
  }

  /** @param {number} id */
  find(id) {
    return this.items.find((item) => item.id === id) ?? null;
  }

  /** Make the item with `id` current; false when it is not in the list. @param {number} id */
  select(id) {
    const at = this.items.findIndex((item) => item.id === id);
    if (at < 0) return false;
    this.index = at;
    return true;
  }

  /** Put `item` in the list at the current position (or refresh it there) and make it current. */
  insert(item) {
    const at = this.items.findIndex((existing) => existing.id === item.id);
    if (at >= 0) {
      this.items[at] = item;
      this.index = at;
    } else {
      this.items.splice(this.index, 0, item);
    }
  }

  /** @param {number} step +1 next, -1 previous */
  move(step) {
    if (!this.items.length) return false;
    const to = Math.min(Math.max(this.index + step, 0), this.items.length - 1);
    const moved = to !== this.index;
    this.index = to;
    return moved;
  }

  /**
   * After a verdict: the next unjudged item after the current one (reviewed items: simply
   * the next); stays put at the end of the list.
   */
  advance() {
    if (this.reviewedMode) return this.move(1);
    const next = this.items.findIndex((item, i) => i > this.index && item.status !== "reviewed");
    if (next >= 0) {
      this.index = next;
      return true;
    }
    return this.move(1);
  }
}
