// The review screen (/review/): the queue, the current item's frame with its box, and a
// verdict per key press. Corrections are optimistic: the screen moves on at once and a
// failed request puts the item back as it was, with the error shown. Requests go out one
// after another, so "undo the last correction" always means the one the reviewer last made.
// Every value from the server is written with textContent, never as HTML.

import { api, messages, setCsrfToken } from "../configure/api.js";
import { rounded } from "./boxes.js";
import { ClassPicker } from "./class_picker.js";
import { VERDICTS, localToIso } from "./format.js";
import { FrameView } from "./frame_view.js";
import { renderFacts, renderHistory } from "./item_panel.js";
import { actionFor, renderHelp } from "./keys.js";
import { Queue, stateOf } from "./queue.js";
import { renderQueue } from "./queue_list.js";
import { Notice } from "./notice.js";

/** @typedef {import("./boxes.js").Box} Box */
/** @typedef {{box: Box, label: string, correction: number|null}} Missed */
/**
 * One correction made here, for Z.
 * @typedef {{kind: "verdict"|"missed", text: string, itemId: number, before: Record<string, any>,
 *   note: string, missed?: Missed, correction: Promise<number|null>}} Done
 */

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("review-config")).textContent || "{}");
setCsrfToken(config.csrf);
/** Filters kept in the page's URL, so Back from "find similar" returns to the same queue. */
const FILTER_KEYS = ["status", "reason", "camera", "class_name", "rule", "since", "until"];
const TIME_KEYS = new Set(["since", "until"]);

/** @param {string} id @returns {any} */
const $ = (id) => document.getElementById(id);

class ReviewScreen {
  constructor() {
    this.root = $("review");
    this.notice = new Notice("review-status", "review-error");
    this.form = /** @type {HTMLFormElement} */ ($("queue-filters"));
    this.note = /** @type {HTMLTextAreaElement} */ ($("note"));
    this.queue = new Queue(config.api);
    /** @type {Done[]} */
    this.done = [];
    /** @type {Map<number, Missed[]>} missed objects drawn on each item's frame */
    this.missed = new Map();
    this.pending = 0;
    /** @type {Promise<unknown>} the tail of the request chain */
    this.chain = Promise.resolve();
    /** @type {"review"|"draw"|"name-missed"} */
    this.mode = "review";
    /** @type {Box|null} */
    this.drawn = null;
    this.edited = false;
    this.frame = new FrameView(
      { wrap: $("frame-wrap"), image: $("frame"), canvas: $("overlay"), status: $("frame-status") },
      { onEdit: (box) => this.boxEdited(box), onDrawn: (box) => this.missedDrawn(box) },
    );
    this.picker = new ClassPicker($("class-search"), $("class-options"), config.classes,
      (name) => this.classChosen(name));
    renderHelp($("help-keys"));
    this.wire();
  }

  wire() {
    document.addEventListener("keydown", (e) => this.key(e));
    this.form.addEventListener("change", () => this.reload(null));
    $("queue-list").addEventListener("click", (e) => {
      const row = /** @type {HTMLElement} */ (e.target).closest(".rv-item");
      if (row && this.queue.select(Number(row.dataset.id))) this.show();
    });
    $("queue-more").addEventListener("click", () => this.loadMore());
    this.root.querySelector(".rv-actions").addEventListener("click", (e) => {
      const button = /** @type {HTMLElement} */ (e.target).closest("button[data-act]");
      if (!button) return;
      button.blur(); // shortcuts keep working; Enter must not click the button again
      this.run(button.dataset.act);
    });
    $("class-keys").addEventListener("click", (e) => {
      const button = /** @type {HTMLElement} */ (e.target).closest("button[data-class]");
      if (!button) return;
      button.blur();
      this.classChosen(button.dataset.class);
    });
    $("help-open").addEventListener("click", () => this.toggleHelp());
  }

  // ---- loading -------------------------------------------------------------------------

  /** Filters from the page URL into the form, then the first load. */
  async start() {
    const params = new URLSearchParams(location.search);
    for (const key of FILTER_KEYS) {
      const field = this.form.elements.namedItem(key);
      const value = params.get(key);
      if (field && value) field.value = TIME_KEYS.has(key) ? isoToLocal(value) : value;
    }
    await this.reload(Number(params.get("item")) || null);
    this.root.dataset.state = "ready";
  }

  /** @returns {URLSearchParams} */
  filters() {
    const params = new URLSearchParams();
    for (const key of FILTER_KEYS) {
      const field = this.form.elements.namedItem(key);
      const value = field ? field.value : "";
      const sent = TIME_KEYS.has(key) ? localToIso(value) : value;
      if (sent) params.set(key, sent);
    }
    return params;
  }

  /** @param {number|null} [itemId] open this item first (a link from find similar or suppressed events) */
  async reload(itemId = null) {
    this.root.dataset.loading = "true";
    $("queue-count").textContent = "Loading…";
    const result = await this.queue.load(this.filters());
    this.root.dataset.loading = "false";
    if (!result.ok) {
      this.notice.error(`The queue could not be loaded: ${messages(result.data).join(" ")}`);
      $("queue-count").textContent = "";
      return;
    }
    if (itemId !== null && !this.queue.select(itemId)) {
      const detail = await api("GET", `${config.api}items/${itemId}/`);
      if (detail.ok) this.queue.insert(detail.data);
      else this.notice.error(`Item #${itemId} could not be opened: ${messages(detail.data).join(" ")}`);
    }
    this.show();
  }

  async loadMore() {
    const result = await this.queue.more();
    if (result && !result.ok) this.notice.error(`More items could not be loaded: ${messages(result.data).join(" ")}`);
    this.renderList();
  }

  // ---- showing -------------------------------------------------------------------------

  /** Show the current item (frame, facts, history) after it changed. */
  show() {
    const item = this.queue.current;
    this.cancelModes();
    this.edited = false;
    $("act-save-box").hidden = true;
    this.renderList();
    this.rememberInUrl();
    if (!item) {
      this.root.dataset.item = "";
      $("item-title").textContent = "Nothing to review";
      $("item-position").textContent = "";
      this.frame.clear(this.queue.items.length ? "" : "Nothing waiting with these filters. Well done.");
      this.showFacts(null);
      return;
    }
    this.root.dataset.item = String(item.id);
    this.frame.show(item);
    this.frame.setExtras(this.extrasOf(item.id));
    this.showFacts(item);
    this.loadHistory(item.id);
    const next = this.queue.items[this.queue.index + 1];
    if (next && next.frame_url) new Image().src = next.frame_url; // warm the cache for J
    if (this.queue.wantsMore()) this.loadMore();
  }

  renderList() {
    renderQueue($("queue-list"), this.queue.items, this.queue.index, config.cameras);
    const waiting = this.queue.reviewedMode ? `${this.queue.count} reviewed` : `${this.queue.count} waiting`;
    $("queue-count").textContent = `${waiting} · ${this.queue.items.length} loaded`;
    $("queue-more").hidden = !(this.queue.reviewedMode && this.queue.nextUrl);
  }

  /** @param {any|null} item */
  showFacts(item) {
    renderFacts(this.root, item, `${this.queue.index + 1} of ${this.queue.items.length}`, config);
    if (!item) $("item-history").replaceChildren();
  }

  /** The item's corrections (who did what) and its missed objects, from the API. @param {number} id */
  async loadHistory(id) {
    const history = $("item-history");
    renderHistory(history, "Loading…");
    const result = await api("GET", `${config.api}items/${id}/`);
    if (this.queue.current?.id !== id) return; // moved on meanwhile
    if (!result.ok) {
      renderHistory(history, `History unavailable: ${messages(result.data).join(" ")}`);
      return;
    }
    const corrections = result.data.corrections || [];
    renderHistory(history, corrections);
    const stored = corrections.filter((c) => c.action === "add_missed" && !c.undone_at).map((c) => ({
      box: c.after.box, label: `missed: ${c.after.class_name}`, correction: c.id,
    }));
    const local = (this.missed.get(id) || []).filter((m) => m.correction === null);
    this.missed.set(id, [...stored, ...local]);
    this.frame.setExtras(this.extrasOf(id));
  }

  /** @param {number} id */
  extrasOf(id) {
    return (this.missed.get(id) || []).map(({ box, label }) => ({ box, label }));
  }

  rememberInUrl() {
    const params = this.filters();
    const item = this.queue.current;
    if (item) params.set("item", String(item.id));
    const query = params.toString();
    history.replaceState(null, "", `${location.pathname}${query ? `?${query}` : ""}`);
  }

  // ---- keys ----------------------------------------------------------------------------

  /** @param {KeyboardEvent} e */
  key(e) {
    const help = /** @type {HTMLDialogElement} */ ($("help"));
    if (help.open) {
      if (e.key === "?") {
        e.preventDefault();
        help.close();
      }
      return; // the dialog closes itself on Esc
    }
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.closest("input, textarea, select, [contenteditable]")) {
      if (e.key === "Escape") target.blur();
      return; // typing: no shortcuts (the class picker handles its own keys)
    }
    if ((e.key === "Enter" || e.key === " ") && target.closest("button, a, summary")) return; // the browser clicks it
    const action = actionFor(e);
    if (!action) return;
    e.preventDefault();
    this.run(action);
  }

  /** @param {string} action from the key map or a button's data-act */
  run(action) {
    if (action.startsWith("class:")) {
      const name = config.classes[Number(action.slice(6)) - 1];
      if (name && Number(action.slice(6)) <= config.numbered) this.classChosen(name);
      return;
    }
    switch (action) {
      case "confirm": return this.edited ? this.saveBox() : this.verdict("confirm");
      case "enter":
        if (this.mode === "name-missed") return this.hint("Name the missed object first: 1–9, or L to search.");
        return this.edited ? this.saveBox() : this.verdict("confirm");
      case "save-box": return this.saveBox();
      case "reject": return this.verdict("reject");
      case "next": return this.step(1);
      case "previous": return this.step(-1);
      case "undo": return this.undo();
      case "missed": return this.startMissed();
      case "note": return this.note.focus();
      case "pick": return this.picker.focus();
      case "similar": return this.similar();
      case "filters": return /** @type {HTMLElement} */ (this.form.elements[0]).focus();
      case "cancel": return this.cancel();
      case "help": return this.toggleHelp();
      default: return undefined;
    }
  }

  toggleHelp() {
    const help = /** @type {HTMLDialogElement} */ ($("help"));
    if (help.open) help.close();
    else help.showModal();
  }

  /** @param {number} step */
  step(step) {
    if (this.queue.move(step)) this.show();
  }

  cancel() {
    if (this.mode !== "review") {
      this.cancelModes();
      this.hint("");
    } else if (this.edited) {
      this.frame.resetEdit();
    } else {
      this.notice.clearError();
    }
  }

  cancelModes() {
    if (this.mode !== "review") this.frame.stopDrawing();
    this.mode = "review";
    this.drawn = null;
    this.root.dataset.mode = this.mode;
    this.hint("");
  }

  similar() {
    const item = this.queue.current;
    if (!item) return;
    this.rememberInUrl(); // Back returns here
    location.assign(`/review/similar/?item=${Number(item.id)}`);
  }

  // ---- corrections ---------------------------------------------------------------------

  /**
   * POST to the review API after the requests already queued.
   * @param {string} path under the API root
   * @param {object} [body]
   */
  send(path, body) {
    const request = this.chain.then(() => api("POST", `${config.api}${path}`, body));
    this.chain = request.catch(() => undefined);
    return request;
  }

  /**
   * Count a request (with its handling) as pending until it settles: tests and the title
   * wait for data-pending="0".
   * @template T @param {Promise<T>} work @returns {Promise<T>}
   */
  track(work) {
    this.pending += 1;
    this.root.dataset.pending = String(this.pending);
    return work.finally(() => {
      this.pending -= 1;
      this.root.dataset.pending = String(this.pending);
    });
  }

  /** @param {string} classname */
  classChosen(classname) {
    if (this.mode === "name-missed") this.addMissed(classname);
    else if (this.mode === "review") this.verdict("relabel", { class_name: classname });
  }

  saveBox() {
    const box = this.frame.edited;
    if (!box) return this.hint("Drag the box's corners or edges first; Enter then saves it.");
    return this.verdict("adjust_box", {});
  }

  /**
   * Confirm, reject, relabel or adjust the current item; shows the next one at once.
   * An adjusted box goes with adjust_box and relabel (the API takes it with both).
   * @param {"confirm"|"reject"|"relabel"|"adjust_box"} action
   * @param {{class_name?: string}} [extra]
   */
  verdict(action, extra = {}) {
    const item = this.queue.current;
    if (!item) return;
    if (!config.can_correct) return this.notice.error("Your role may look at the queue but not correct it.");
    if (this.mode !== "review") this.cancelModes();
    this.notice.clearError();
    const body = { action, note: this.note.value, ...extra };
    if (this.frame.edited && (action === "adjust_box" || action === "relabel")) body.box = rounded(this.frame.edited);
    const before = stateOf(item);
    this.restate(item, {
      status: "reviewed", verdict: action, label: extra.class_name ?? item.label, box: body.box ?? item.box,
    });
    const text = action === "relabel" ? `Relabelled #${item.id} as ${extra.class_name}` : `${VERDICTS[action]}: #${item.id}`;
    /** @type {Done} */
    const done = { kind: "verdict", text, itemId: item.id, before, note: body.note, correction: Promise.resolve(null) };
    this.done.push(done);
    this.note.value = "";
    this.queue.advance();
    this.show();
    this.notice.status(`${text} · saving…`);
    done.correction = this.track(this.send(`items/${item.id}/correct/`, body).then((result) => {
      if (result.ok) {
        Object.assign(item, result.data.item);
        this.notice.status(`${text} · Z undoes`);
        this.refreshItem(item);
        return /** @type {number} */ (result.data.correction.id);
      }
      this.rollback(done, item);
      this.notice.error(`“${text}” was not saved: ${messages(result.data).join(" ")} The item is back as it was.`);
      return null;
    }));
  }

  /**
   * Change an item's reviewed state here (optimistically, or back), keeping the queue's
   * "waiting" count in step without asking the server.
   * @param {any} item
   * @param {Record<string, any>} state
   */
  restate(item, state) {
    const waitingBefore = item.status !== "reviewed";
    Object.assign(item, state);
    if (!this.queue.reviewedMode) this.queue.count += Number(item.status !== "reviewed") - Number(waitingBefore);
  }

  /** A failed correction: the item gets its state back and becomes current again. */
  rollback(done, item) {
    this.done = this.done.filter((d) => d !== done);
    this.restate(item, done.before);
    if (!this.note.value) this.note.value = done.note;
    if (this.queue.select(item.id)) this.show();
    else this.renderList();
  }

  /** Re-render what shows `item` (the list always; facts when it is current). */
  refreshItem(item) {
    this.renderList();
    if (this.queue.current?.id === item.id) this.showFacts(item);
  }

  startMissed() {
    if (!this.queue.current) return;
    if (!config.can_correct) return this.notice.error("Your role may look at the queue but not correct it.");
    this.cancelModes();
    this.mode = "draw";
    this.root.dataset.mode = this.mode;
    this.frame.startDrawing();
    this.hint("Drag on the picture around the object the detector missed. Esc cancels.");
  }

  /** @param {Box} box */
  missedDrawn(box) {
    this.mode = "name-missed";
    this.root.dataset.mode = this.mode;
    this.drawn = box;
    this.hint("What is it? Press 1–9, or L to search all classes. Esc cancels.");
  }

  /** @param {string} classname */
  addMissed(classname) {
    const item = this.queue.current;
    if (!item || !this.drawn) return;
    this.notice.clearError();
    const box = rounded(this.drawn);
    /** @type {Missed} */
    const missed = { box, label: `missed: ${classname}`, correction: null };
    this.missed.set(item.id, [...(this.missed.get(item.id) || []), missed]);
    const note = this.note.value;
    this.note.value = "";
    this.cancelModes();
    this.frame.setExtras(this.extrasOf(item.id));
    const text = `Missed ${classname} added to #${item.id}`;
    /** @type {Done} */
    const done = { kind: "missed", text, itemId: item.id, before: stateOf(item), note, missed,
      correction: Promise.resolve(null) };
    this.done.push(done);
    this.notice.status(`${text} · saving…`);
    done.correction = this.track(this.send(`items/${item.id}/missed/`, { class_name: classname, box, note })
      .then((result) => {
        if (result.ok) {
          missed.correction = result.data.correction.id;
          this.notice.status(`${text} · Z undoes`);
          if (this.queue.current?.id === item.id) this.loadHistory(item.id);
          return /** @type {number} */ (result.data.correction.id);
        }
        this.done = this.done.filter((d) => d !== done);
        this.dropMissed(item.id, missed);
        if (!this.note.value) this.note.value = note;
        this.notice.error(`The missed ${classname} was not saved: ${messages(result.data).join(" ")}`);
        return null;
      }));
  }

  /** @param {number} itemId @param {Missed} missed */
  dropMissed(itemId, missed) {
    this.missed.set(itemId, (this.missed.get(itemId) || []).filter((m) => m !== missed));
    if (this.queue.current?.id === itemId) this.frame.setExtras(this.extrasOf(itemId));
  }

  /** Undo the last correction made here: shown at once, rolled back if the server refuses. */
  undo() {
    const done = this.done.pop();
    if (!done) return this.notice.status("Nothing to undo.");
    if (!config.can_undo) {
      this.done.push(done);
      return this.notice.error("Your role may not undo corrections.");
    }
    this.notice.clearError();
    const item = this.queue.find(done.itemId);
    const now = item ? stateOf(item) : null;
    if (done.kind === "missed" && done.missed) this.dropMissed(done.itemId, done.missed);
    if (item && done.kind === "verdict") this.restate(item, done.before);
    if (item && this.queue.select(item.id)) this.show();
    this.notice.status(`Undoing “${done.text}”…`);
    this.track(done.correction.then(async (id) => {
      if (id === null) return; // it failed and was rolled back already
      const result = await this.send(`corrections/${id}/undo/`);
      if (result.ok) {
        const fresh = result.data.item;
        if (item) Object.assign(item, fresh);
        else this.queue.insert(fresh);
        this.notice.status(`Undone: ${done.text}`);
        if (this.queue.current?.id === done.itemId || !item) this.show();
        else this.renderList();
        return;
      }
      this.done.push(done);
      if (item && now) this.restate(item, now);
      if (done.kind === "missed" && done.missed) {
        this.missed.set(done.itemId, [...(this.missed.get(done.itemId) || []), done.missed]);
      }
      if (item && this.queue.select(item.id)) this.show();
      this.notice.error(`“${done.text}” could not be undone: ${messages(result.data).join(" ")}`);
    }));
  }

  /** @param {Box|null} box the adjusted box, null when back to the stored one */
  boxEdited(box) {
    this.edited = box !== null;
    $("act-save-box").hidden = !this.edited;
    this.root.dataset.edited = String(this.edited);
    this.hint(this.edited ? "Box adjusted: Enter saves it (a number key relabels with it), Esc puts it back." : "");
  }

  // ---- messages ------------------------------------------------------------------------

  /** @param {string} text */
  hint(text) {
    $("mode-hint").textContent = text;
  }
}

/**
 * An ISO time from the URL → the value of a datetime-local input (local wall time).
 * @param {string} iso
 */
function isoToLocal(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

const screen = new ReviewScreen();
screen.start();
