// An event's handling history (who did what when), oldest first, kept live: actions come
// from GET /api/events/<id>/history/ and from "event.updated" messages, once each.

import { actionSentence, clock, dateTime } from "./format.js";
import { el } from "./dom.js";
import { api } from "../configure/api.js";

export class HistoryList {
  /** @param {HTMLOListElement} list @param {HTMLElement} [empty] shown while there is nothing yet */
  constructor(list, empty) {
    this.list = list;
    this.empty = empty;
    /** @type {Map<number, HTMLLIElement>} */
    this.items = new Map();
  }

  /** @param {Array<Record<string, any>>} actions */
  set(actions) {
    this.items.clear();
    this.list.replaceChildren();
    actions.forEach((action) => this.add(action));
    this.render();
  }

  /** Fetch the whole history again (after reconnecting, or after an action of ours). */
  async reload(eventId) {
    const result = await api("GET", `/api/events/${Number(eventId)}/history/`);
    if (result.ok && Array.isArray(result.data)) result.data.forEach((action) => this.add(action));
    this.render();
    return result.ok;
  }

  /** Add one action unless it is listed already; in id (= time) order. */
  add(action) {
    if (!action || this.items.has(action.id)) return;
    const item = /** @type {HTMLLIElement} */ (el("li", `history-item kind-${action.action}`));
    item.dataset.actionId = String(action.id);
    item.dataset.kind = String(action.action);
    const time = /** @type {HTMLTimeElement} */ (el("time", "history-time", clock(action.created_at)));
    time.dateTime = action.created_at;
    time.title = dateTime(action.created_at);
    item.append(time, el("span", "history-what", actionSentence(action)));
    if (action.note) item.append(el("p", "history-note", action.note));
    this.items.set(action.id, item);
    const later = [...this.items.entries()].filter(([id]) => id > action.id).sort(([a], [b]) => a - b)[0];
    this.list.insertBefore(item, later ? later[1] : null);
    this.render();
  }

  render() {
    if (this.empty) this.empty.hidden = this.items.size > 0;
  }
}
