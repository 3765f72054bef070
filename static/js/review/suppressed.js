// Suppressed events (/review/suppressed/): events held back as repeats of a rejected
// detection, with Lift; and per-class precision from the reviewed random sample.
// Every value from the server is written with textContent, never as HTML.

import { api, el, messages, setCsrfToken } from "../configure/api.js";
import { fixed, percent, when } from "./format.js";

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("suppressed-config")).textContent || "{}");
setCsrfToken(config.csrf);

/** @param {string} id @returns {any} */
const $ = (id) => document.getElementById(id);

class SuppressedPage {
  constructor() {
    this.root = $("suppressed");
    this.form = /** @type {HTMLFormElement} */ ($("suppressed-filters"));
    this.list = $("suppression-list");
    /** @type {string|null} */
    this.next = null;
    this.generation = 0;
    this.form.addEventListener("change", () => this.load());
    $("suppressions-more").addEventListener("click", () => this.more());
    this.list.addEventListener("click", (e) => {
      const button = /** @type {HTMLElement} */ (e.target).closest("button[data-lift]");
      if (button) this.lift(/** @type {HTMLButtonElement} */ (button));
    });
  }

  params() {
    const params = new URLSearchParams();
    for (const field of /** @type {any} */ (this.form.elements)) {
      if (field.name && field.value) params.set(field.name, field.value);
    }
    return params;
  }

  async load() {
    const generation = ++this.generation;
    this.root.dataset.loading = "true";
    const params = this.params();
    const camera = params.get("camera");
    const [suppressions, precision] = await Promise.all([
      api("GET", `${config.api}suppressions/?${params}`),
      api("GET", `${config.api}precision/${camera ? `?camera=${encodeURIComponent(camera)}` : ""}`),
    ]);
    if (generation !== this.generation) return;
    this.root.dataset.loading = "false";
    this.list.replaceChildren();
    this.showSuppressions(suppressions);
    this.showPrecision(precision);
    this.root.dataset.state = "ready";
  }

  async more() {
    if (!this.next) return;
    this.showSuppressions(await api("GET", this.next));
  }

  /** @param {import("../configure/api.js").ApiResult} result */
  showSuppressions(result) {
    if (!result.ok) {
      this.error(`Suppressed events could not be loaded: ${messages(result.data).join(" ")}`);
      return;
    }
    this.next = result.data.next;
    $("suppressions-more").hidden = !this.next;
    this.list.append(...result.data.results.map(row));
    if (!this.list.children.length) this.list.append(el("li", "rv-muted", "No suppressed events."));
  }

  /** @param {import("../configure/api.js").ApiResult} result */
  showPrecision(result) {
    const rows = $("precision-rows");
    if (!result.ok) {
      rows.replaceChildren();
      $("precision-summary").textContent = `Precision unavailable: ${messages(result.data).join(" ")}`;
      return;
    }
    rows.replaceChildren(...result.data.classes.map((/** @type {any} */ c) => {
      const tr = el("tr");
      tr.dataset.class = c.class_name;
      tr.append(el("th", "", c.class_name), el("td", "", percent(c.precision)),
        el("td", "", `${percent(c.low)} – ${percent(c.high)}`), el("td", "", String(c.correct)),
        el("td", "", String(c.wrong)));
      /** @type {HTMLElement} */ (tr.firstChild).setAttribute("scope", "row");
      return tr;
    }));
    if (!result.data.classes.length) {
      const tr = el("tr");
      const td = el("td", "rv-muted", "No reviewed random-sample detections yet.");
      td.setAttribute("colspan", "5");
      tr.append(td);
      rows.append(tr);
    }
    $("precision-summary").textContent = `From ${result.data.reviewed} reviewed random-sample detections; `
      + `${result.data.unreviewed} more are waiting in the queue.`;
  }

  /** Lift a suppression: the event is alerted now. @param {HTMLButtonElement} button */
  async lift(button) {
    const id = Number(button.dataset.lift);
    const li = /** @type {HTMLElement} */ (button.closest("li"));
    button.disabled = true;
    button.textContent = "Lifting…";
    const result = await api("POST", `${config.api}suppressions/${id}/lift/`);
    if (!result.ok) {
      button.disabled = false;
      button.textContent = "Lift";
      this.error(`Suppression #${id} could not be lifted: ${messages(result.data).join(" ")}`);
      return;
    }
    li.replaceWith(row(result.data));
  }

  /** @param {string} text */
  error(text) {
    const box = $("suppressed-error");
    box.textContent = text;
    box.hidden = false;
  }
}

/**
 * One suppression: the event's snapshot, what it was taken for, where and when, Lift.
 * @param {any} s
 * @returns {HTMLElement}
 */
function row(s) {
  const event = s.event;
  const camera = config.cameras[String(event.camera)];
  const li = el("li", "sp-row");
  li.dataset.id = String(s.id);
  li.dataset.active = String(s.active);
  const thumb = /** @type {HTMLImageElement} */ (el("img", "sp-thumb"));
  thumb.alt = "";
  thumb.loading = "lazy";
  const src = event.snapshot_url || event.crop_url;
  if (src) thumb.src = src;

  const body = el("div", "sp-body");
  const title = el("p", "sp-title");
  title.append(`Suppressed, similar to `);
  if (s.false_positive_item) {
    const fp = /** @type {HTMLAnchorElement} */ (el("a", "", `FP #${s.false_positive}`));
    fp.href = `/review/?item=${Number(s.false_positive_item)}`;
    title.append(fp);
  } else {
    title.append(s.false_positive ? `FP #${s.false_positive}` : "a false positive since deleted");
  }
  title.append(el("span", "sp-distance", ` (distance ${fixed(s.distance, 3)})`));
  const what = el("p", "sp-what", `${event.class_name} ${fixed(event.confidence)} · ${event.rule_name}`);
  const where = el("p", "sp-where", `${event.camera_name} · ${when(event.captured_at, camera?.timezone)}`);
  const link = /** @type {HTMLAnchorElement} */ (el("a", "sp-event", `Event #${event.id}`));
  link.href = `/events/${Number(event.id)}/`;
  body.append(title, what, where, link);
  if (s.false_positive_undone && s.active) {
    body.append(el("p", "sp-warning", "The false positive was undone since: this event may deserve lifting."));
  }

  const side = el("div", "sp-side");
  if (s.active) {
    if (config.can_lift) {
      const lift = /** @type {HTMLButtonElement} */ (el("button", "", "Lift"));
      lift.type = "button";
      lift.dataset.lift = String(s.id);
      lift.title = "Alert this event now";
      side.append(lift);
    }
  } else {
    side.append(el("span", "sp-lifted", `Lifted ${when(s.lifted_at, camera?.timezone)}`));
  }
  li.append(thumb, body, side);
  return li;
}

new SuppressedPage().load();
