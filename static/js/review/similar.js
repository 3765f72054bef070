// Find similar (/review/similar/?item=<id>): the nearest detections by embedding as a grid
// of crops; select many and correct them in one step (bulk/), with Undo for that batch.
// Every value from the server is written with textContent, never as HTML.

import { api, el, messages, setCsrfToken } from "../configure/api.js";
import { VERDICTS, fixed, localToIso, statusText, when } from "./format.js";
import { stateOf } from "./queue.js";
import { Selection } from "./selection.js";
import { Notice } from "./notice.js";

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("similar-config")).textContent || "{}");
setCsrfToken(config.csrf);
const TIME_KEYS = new Set(["since", "until"]);
const PAST = { confirm: "Confirmed", reject: "Rejected as false positives", relabel: "Relabelled" };

/** @param {string} id @returns {any} */
const $ = (id) => document.getElementById(id);

/**
 * A bulk correction made here, for Undo.
 * @typedef {{batch: string, text: string, before: Map<number, Record<string, any>>}} Batch
 */

class SimilarPage {
  constructor() {
    this.root = $("similar");
    this.notice = new Notice("similar-status", "similar-error");
    this.form = /** @type {HTMLFormElement} */ ($("similar-filters"));
    this.grid = $("similar-grid");
    this.selection = new Selection();
    /** @type {Map<number, {distance: number, item: any}>} */
    this.results = new Map();
    /** @type {Batch[]} */
    this.batches = [];
    this.pending = 0;
    this.generation = 0;
    this.wire();
  }

  wire() {
    this.form.addEventListener("change", () => this.search());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.search();
    });
    this.grid.addEventListener("click", (e) => {
      const tile = /** @type {HTMLElement} */ (e.target).closest(".sm-tile");
      if (!tile) return;
      this.selection.click(Number(tile.dataset.id), { range: e.shiftKey });
      this.renderSelection();
    });
    // Shift+click would also select the page's text between the clicks.
    this.grid.addEventListener("mousedown", (e) => {
      if (e.shiftKey) e.preventDefault();
    });
    $("select-all").addEventListener("click", () => this.selectAll());
    $("select-none").addEventListener("click", () => this.selectNone());
    for (const button of this.root.querySelectorAll("[data-bulk]")) {
      button.addEventListener("click", () => this.bulk(button.dataset.bulk));
    }
    $("batch-undo").addEventListener("click", () => this.undo());
    document.addEventListener("keydown", (e) => this.key(e));
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.closest("input, textarea, select")) {
      if (e.key === "Escape") target.blur();
      return;
    }
    if (e.altKey || e.metaKey || (e.ctrlKey && e.key.toLowerCase() !== "z")) return;
    const action = { a: "all", escape: "none", c: "confirm", x: "reject", z: "undo" }[e.key.toLowerCase()];
    if (!action) return;
    e.preventDefault();
    if (action === "all") this.selectAll();
    else if (action === "none") this.selectNone();
    else if (action === "undo") this.undo();
    else this.bulk(action);
  }

  // ---- the source and the search ---------------------------------------------------------

  async start() {
    await this.showSource();
    await this.search();
    this.root.dataset.state = "ready";
  }

  async showSource() {
    let itemId = config.source.item;
    let caption = "";
    if (config.source.correction) {
      const correction = await api("GET", `${config.api}corrections/${Number(config.source.correction)}/`);
      if (correction.ok) {
        itemId = correction.data.item;
        caption = `${VERDICTS[correction.data.action] || correction.data.action} (correction #${correction.data.id}) of `;
      }
    }
    const result = await api("GET", `${config.api}items/${Number(itemId)}/`);
    if (!result.ok) {
      $("source-caption").textContent = `The detection could not be loaded: ${messages(result.data).join(" ")}`;
      return;
    }
    const item = result.data;
    const crop = /** @type {HTMLImageElement} */ ($("source-crop"));
    crop.alt = `${item.class_name} on ${item.camera_name}`;
    if (item.crop_url) crop.src = item.crop_url;
    const camera = config.cameras[String(item.camera)];
    $("similar-title").textContent = `Similar to ${item.class_name} #${item.id}`;
    $("source-caption").textContent = `${caption}${item.class_name} ${fixed(item.confidence)} · ${item.camera_name} · `
      + `${when(item.captured_at, camera?.timezone)} · ${statusText(item)}`;
    /** @type {HTMLAnchorElement} */ ($("back-to-review")).href = `/review/?item=${Number(item.id)}`;
  }

  query() {
    const params = new URLSearchParams();
    if (config.source.item) params.set("item", String(config.source.item));
    else params.set("correction", String(config.source.correction));
    for (const field of /** @type {any} */ (this.form.elements)) {
      if (!field.name || !field.value) continue;
      const value = TIME_KEYS.has(field.name) ? localToIso(field.value) : field.value;
      if (value) params.set(field.name, value);
    }
    return params;
  }

  async search() {
    const generation = ++this.generation;
    this.root.dataset.loading = "true";
    const result = await api("GET", `${config.api}similar/?${this.query()}`);
    if (generation !== this.generation) return;
    this.root.dataset.loading = "false";
    if (!result.ok) {
      this.notice.error(`The search failed: ${messages(result.data).join(" ")}`);
      return;
    }
    this.notice.clearError();
    this.results = new Map(result.data.results.map((/** @type {any} */ r) => [r.item.id, r]));
    this.selection.setOrder([...this.results.keys()]);
    this.render();
    this.notice.status(this.results.size ? `${this.results.size} similar detections, nearest first.`
      : "Nothing similar with these filters.");
  }

  // ---- rendering -------------------------------------------------------------------------

  render() {
    this.grid.replaceChildren(...[...this.results.values()].map(({ distance, item }) => {
      const li = el("li", "sm-cell");
      const tile = el("button", "sm-tile");
      tile.type = "button";
      tile.dataset.id = String(item.id);
      tile.dataset.status = item.status;
      if (item.verdict) tile.dataset.verdict = item.verdict;
      const img = /** @type {HTMLImageElement} */ (el("img", "sm-crop"));
      img.alt = "";
      img.loading = "lazy";
      if (item.crop_url) img.src = item.crop_url;
      const camera = config.cameras[String(item.camera)];
      tile.append(
        img,
        el("span", "sm-distance", `distance ${fixed(distance, 3)}`),
        el("span", "sm-what", `${item.class_name} ${fixed(item.confidence)}`),
        el("span", "sm-where", `${item.camera_name} · ${when(item.captured_at, camera?.timezone)}`),
        el("span", `sm-state sm-state-${item.status}`, statusText(item)),
      );
      const open = /** @type {HTMLAnchorElement} */ (el("a", "sm-open", "Open in review"));
      open.href = `/review/?item=${Number(item.id)}`;
      li.append(tile, open);
      return li;
    }));
    this.renderSelection();
  }

  renderSelection() {
    for (const tile of this.grid.querySelectorAll(".sm-tile")) {
      tile.setAttribute("aria-pressed", String(this.selection.selected.has(Number(tile.dataset.id))));
    }
    const count = this.selection.selected.size;
    $("selected-count").textContent = `${count} of ${this.results.size} selected`;
    for (const button of this.root.querySelectorAll("[data-bulk]")) button.disabled = count === 0;
    const last = this.batches[this.batches.length - 1];
    $("batch-undo").hidden = !last;
    $("batch-undo").title = last ? `Undo: ${last.text}` : "";
  }

  selectAll() {
    this.selection.all();
    this.renderSelection();
  }

  selectNone() {
    this.selection.none();
    this.renderSelection();
  }

  // ---- bulk corrections ------------------------------------------------------------------

  /** @template T @param {Promise<T>} work @returns {Promise<T>} */
  track(work) {
    this.pending += 1;
    this.root.dataset.pending = String(this.pending);
    return work.finally(() => {
      this.pending -= 1;
      this.root.dataset.pending = String(this.pending);
    });
  }

  /**
   * The same correction on every selected detection, shown at once, put back if it fails.
   * @param {"confirm"|"reject"|"relabel"} action
   */
  async bulk(action) {
    const ids = this.selection.ids();
    if (!ids.length) return this.notice.status("Select detections first (click, Shift+click, or A for all).");
    if (!config.can_correct) return this.notice.error("Your role may not correct detections.");
    const className = /** @type {HTMLSelectElement} */ ($("relabel-class")).value;
    const note = /** @type {HTMLInputElement} */ ($("bulk-note")).value;
    const body = { items: ids, action, note, ...(action === "relabel" ? { class_name: className } : {}) };
    const text = `${PAST[action]}${action === "relabel" ? ` as ${className}` : ""}: ${ids.length} detections`;
    /** @type {Map<number, Record<string, any>>} */
    const before = new Map();
    for (const id of ids) {
      const { item } = /** @type {any} */ (this.results.get(id));
      before.set(id, stateOf(item));
      Object.assign(item, { status: "reviewed", verdict: action, label: action === "relabel" ? className : item.label });
    }
    this.notice.clearError();
    this.selection.none();
    this.render();
    this.notice.status(`${text} · saving…`);
    const result = await this.track(api("POST", `${config.api}bulk/`, body));
    if (!result.ok) {
      this.restore(before);
      for (const id of ids) this.selection.selected.add(id);
      this.render();
      this.notice.error(`“${text}” was not saved: ${messages(result.data).join(" ")} Nothing was changed.`);
      return undefined;
    }
    /** @type {HTMLInputElement} */ ($("bulk-note")).value = "";
    this.batches.push({ batch: result.data.batch, text, before });
    this.renderSelection();
    this.notice.status(`${text}. Z or Undo puts them back.`);
    return undefined;
  }

  /** @param {Map<number, Record<string, any>>} states */
  restore(states) {
    for (const [id, state] of states) {
      const found = this.results.get(id);
      if (found) Object.assign(found.item, state);
    }
  }

  /** Undo the last bulk correction made here. */
  async undo() {
    const batch = this.batches.pop();
    if (!batch) return this.notice.status("Nothing to undo.");
    const now = new Map([...batch.before.keys()].filter((id) => this.results.has(id))
      .map((id) => [id, stateOf(/** @type {any} */ (this.results.get(id)).item)]));
    this.restore(batch.before);
    this.render();
    this.notice.status(`Undoing “${batch.text}”…`);
    const result = await this.track(api("POST", `${config.api}bulk/${encodeURIComponent(batch.batch)}/undo/`));
    if (!result.ok) {
      this.restore(now);
      this.batches.push(batch);
      this.render();
      this.notice.error(`“${batch.text}” could not be undone: ${messages(result.data).join(" ")}`);
      return undefined;
    }
    this.notice.clearError();
    this.notice.status(`Undone: ${batch.text} (${result.data.undone} corrections).`);
    return undefined;
  }
}

new SimilarPage().start();
