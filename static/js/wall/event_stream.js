// Alerts over /ws/events/ (events/consumers.py) without missing one.
//
// The page starts with the newest alerts and `last_id`, the highest event id it holds.
// Every time the socket (re)opens, the alerts created since then are read from
// GET /api/events/?after=<cursor> page by page (ids are drawn in commit order, so this
// misses nothing: events/api.py), and the alerts handled meanwhile from
// ?updated_after=<newest change seen>. Alerts pushed while that runs are kept too; the
// feed shows each id once, from its newest payload.

import { api } from "../configure/api.js";
import { millis } from "./format.js";

const PAGE_SIZE = 200;
/** Handling commits may land slightly out of updated_at order: look back this far. */
const UPDATED_SLACK_MS = 10000;
const MAX_UPDATE_PAGES = 10;

/**
 * The path and query of the API's absolute `next` link: asked of this page's origin, whatever
 * host name the server built the link with (a proxy in front may differ).
 * @param {string|null} next
 */
function samePath(next) {
  if (!next) return "";
  const url = new URL(next, location.href);
  return `${url.pathname}${url.search}`;
}

/**
 * Events: "created" (detail: {event, source: "live"|"backfill"}), "updated" (detail:
 * {event, action}), "camera" (detail: camera id), "synced" (detail: {created: n}).
 */
export class EventStream extends EventTarget {
  /**
   * @param {import("./socket.js").ReconnectingSocket} socket
   * @param {{lastId: number, params: () => URLSearchParams}} options `params`: the feed's filters
   */
  constructor(socket, { lastId, params }) {
    super();
    this.socket = socket;
    this.params = params;
    /** Every event id up to here (matching the filters) has been seen. */
    this.cursor = lastId;
    this.syncing = false;
    /** Highest id pushed while a back-fill runs: the cursor moves there once it is done. */
    this.pushedMax = 0;
    /** Newest `updated_at` seen (server clock, epoch ms). */
    this.watermark = 0;
    this.generation = 0;
    socket.addEventListener("open", () => this.sync());
    socket.addEventListener("message", (e) => this.message(/** @type {CustomEvent} */ (e).detail));
  }

  /** Note a payload's `updated_at`: what the catch-up asks changes after. */
  saw(event) {
    const updated = millis(event.updated_at);
    if (Number.isFinite(updated) && updated > this.watermark) this.watermark = updated;
  }

  message(data) {
    if (data.type === "event") {
      this.saw(data.event);
      if (this.syncing) this.pushedMax = Math.max(this.pushedMax, data.event.id);
      else this.cursor = Math.max(this.cursor, data.event.id);
      this.dispatchEvent(new CustomEvent("created", { detail: { event: data.event, source: "live" } }));
    } else if (data.type === "event.updated") {
      this.saw(data.event);
      this.dispatchEvent(new CustomEvent("updated", { detail: { event: data.event, action: data.action } }));
    } else if (data.type === "camera") {
      this.dispatchEvent(new CustomEvent("camera", { detail: data.camera_id }));
    }
  }

  /** Back-fill what was created and what changed while the socket was away. */
  async sync() {
    const generation = ++this.generation;
    this.syncing = true;
    this.pushedMax = 0;
    const stillCurrent = () => generation === this.generation && this.socket.state === "open";
    let created = 0;
    try {
      const params = this.params();
      params.set("page_size", String(PAGE_SIZE));
      params.set("after", String(this.cursor));
      let url = `/api/events/?${params}`;
      while (url) {
        const page = await this.get(url);
        if (!stillCurrent()) return;
        for (const event of page.results) {
          this.saw(event);
          this.dispatchEvent(new CustomEvent("created", { detail: { event, source: "backfill" } }));
        }
        created += page.results.length;
        this.cursor = Math.max(this.cursor, Number(page.last_id) || 0);
        url = samePath(page.next);
      }
      if (this.watermark) await this.catchUp(stillCurrent);
      if (!stillCurrent()) return;
      this.cursor = Math.max(this.cursor, this.pushedMax);
      this.syncing = false;
      this.dispatchEvent(new CustomEvent("synced", { detail: { created } }));
    } catch {
      // Without the back-fill the feed could miss alerts: start over with a new connection.
      if (stillCurrent()) this.socket.drop();
    }
  }

  /** Alerts handled (or given a clip) while away: their newest payloads. */
  async catchUp(stillCurrent) {
    const params = this.params();
    params.set("page_size", String(PAGE_SIZE));
    params.set("updated_after", new Date(this.watermark - UPDATED_SLACK_MS).toISOString());
    let url = `/api/events/?${params}`;
    for (let pages = 0; url && pages < MAX_UPDATE_PAGES; pages += 1) {
      const page = await this.get(url);
      if (!stillCurrent()) return;
      for (const event of page.results) {
        this.saw(event);
        this.dispatchEvent(new CustomEvent("updated", { detail: { event, action: null } }));
      }
      url = samePath(page.next);
    }
  }

  /** @param {string} url @returns {Promise<{results: Array<Record<string, any>>, next: string|null, last_id?: number}>} */
  async get(url) {
    const result = await api("GET", url);
    if (!result.ok || !result.data || !Array.isArray(result.data.results)) throw new Error(`GET ${url}: ${result.status}`);
    return result.data;
  }
}
