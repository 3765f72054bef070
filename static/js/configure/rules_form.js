// The camera's rules: the list (in words), the add / edit form whose fields follow the
// trigger, and the preview ("what would this rule have fired on?") drawn over the picture.
// The form's markup is rendered by the server (templates/cameras/configure.html); this
// module fills it, reads it back as the JSON /api/rules/ takes, and shows the API's
// field errors next to the fields.

import { api, el, messages } from "./api.js";
import { drawEvidence, evidenceSummary } from "./draw.js";

const DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const DIRECTION_WORDS = { a_to_b: "A → B", b_to_a: "B → A", both: "either way" };
const DURATION_LABELS = {
  loiter: "Stays longer than (seconds)",
  count: "Count held for at least (seconds, 0: at once)",
  absence: "Empty for (seconds)",
};
const USES_DURATION = new Set(["loiter", "count", "absence"]);
const MAX_PREVIEW_ROWS = 200;

/** "30 s", "5 min", "2 h": a duration in the words of the rule list. */
export function formatDuration(seconds) {
  const s = Number(seconds) || 0;
  if (s >= 7200 && s % 3600 === 0) return `${s / 3600} h`;
  if (s >= 120 && s % 60 === 0) return `${s / 60} min`;
  return `${Math.round(s * 10) / 10} s`;
}

/** [0, 1, 2, 3, 4] → "Mon–Fri"; [5, 6] → "Sat–Sun"; [0, 2] → "Mon, Wed". */
export function formatDays(days) {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  if (sorted.length === 7) return "every day";
  const runs = [];
  for (const d of sorted) {
    const run = runs[runs.length - 1];
    if (run && d === run[1] + 1) run[1] = d;
    else runs.push([d, d]);
  }
  return runs.map(([a, b]) => {
    if (a === b) return DAY_NAMES[a];
    return b === a + 1 ? `${DAY_NAMES[a]}, ${DAY_NAMES[b]}` : `${DAY_NAMES[a]}–${DAY_NAMES[b]}`;
  }).join(", ");
}

function objectWords(classes, plural) {
  if (!classes || !classes.length) return plural ? "objects" : "Any object";
  const names = classes.map((c) => (plural ? `${c}s` : c));
  const text = names.length > 3 ? `${names.slice(0, 3).join(", ")} or ${names.length - 3} more`
    : names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}` : names[0];
  return plural ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A rule in plain words, e.g. "Person stays in Loading bay longer than 30 s".
 * @param {object} rule as the API returns it
 * @param {{name: string, kind: string, direction?: string}|undefined} region its region, if any
 * @param {string} timezone the camera's, for the schedule
 */
export function describeRule(rule, region, timezone) {
  const who = objectWords(rule.object_classes, false);
  const where = region ? region.name : null;
  let text;
  switch (rule.trigger) {
    case "seen": text = `${who} seen ${where ? `in ${where}` : "anywhere"}`; break;
    case "enter": text = `${who} enters ${where || "the frame"}`; break;
    case "leave": text = `${who} leaves ${where || "the frame"}`; break;
    case "loiter": text = `${who} stays ${where ? `in ${where}` : "in view"} longer than ${formatDuration(rule.duration_seconds)}`; break;
    case "cross": text = `${who} crosses ${where || "a line"} ${DIRECTION_WORDS[region && region.direction] || ""}`.trim(); break;
    case "count":
      text = `${rule.min_count} or more ${objectWords(rule.object_classes, true)} ${where ? `in ${where}` : "in view"}`
        + (Number(rule.duration_seconds) > 0 ? ` for ${formatDuration(rule.duration_seconds)}` : "");
      break;
    case "absence":
      text = `No ${objectWords(rule.object_classes, true)} ${where ? `in ${where}` : "in view"} for ${formatDuration(rule.duration_seconds)}`;
      break;
    default: text = `${who}: ${rule.trigger}`;
  }
  if (rule.schedule && rule.schedule.length) {
    const windows = rule.schedule.map((w) => `${formatDays(w.days || [])} ${w.start}–${w.end}`).join("; ");
    text += ` · only ${windows} (${timezone})`;
  }
  return text;
}

export class RulesPanel {
  /**
   * @param {object} options
   * @param {HTMLElement} options.root the rules section
   * @param {object} options.data the page's configure data (camera, rules, trigger_areas, …)
   * @param {import("./region_editor.js").RegionEditor} options.editor for the saved regions and the picture
   */
  constructor({ root, data, editor }) {
    this.root = root;
    this.camera = data.camera;
    this.urls = data.urls;
    this.triggerAreas = data.trigger_areas;
    this.classNames = data.class_names;
    this.rules = data.rules;
    this.editor = editor;
    this.$ = (selector) => root.querySelector(selector);
    this.form = /** @type {HTMLFormElement} */ (this.$("[data-rule-form]"));
    this.tbody = this.$("[data-rule-list]");
    this.scheduleRows = this.$("[data-schedule-rows]");
    this.rowTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById("schedule-row-template"));
    this.editing = null; // the rule being edited; null: a new one
    this.previewEvents = [];
    this.selectedPreview = -1;
    try {
      this.timeFormat = new Intl.DateTimeFormat(undefined, { timeZone: this.camera.timezone, dateStyle: "short", timeStyle: "medium" });
    } catch {
      this.timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
    }
    this.bind();
    this.renderList();
  }

  bind() {
    this.$("[data-rule-add]").addEventListener("click", () => this.open(null));
    this.$("[data-rule-cancel]").addEventListener("click", () => this.close());
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.save(); });
    this.form.elements.namedItem("trigger").addEventListener("change", () => this.followTrigger());
    this.$("[data-schedule-add]").addEventListener("click", () => this.addScheduleRow(null));
    this.$("[data-preview-run]").addEventListener("click", () => this.preview());
    this.editor.addEventListener("regions-changed", () => {
      this.renderList();
      if (!this.form.hidden) this.fillRegions(this.field("region").value);
    });
    this.editor.addEventListener("picture-changed", () => this.showPreviewPicture());
    const figure = this.$("[data-preview-figure]");
    new ResizeObserver(() => this.drawPreview()).observe(figure);
  }

  /** @returns {any} the form control named `name` */
  field(name) {
    return this.form.elements.namedItem(name);
  }

  regionsById() {
    return new Map(this.editor.savedRegions().map((r) => [r.id, r]));
  }

  regionOf(rule) {
    if (rule.region === null || rule.region === undefined) return undefined;
    const region = this.regionsById().get(rule.region);
    if (!region) return { name: "(deleted region)", kind: "zone" };
    const shape = this.editor.shapes.find((s) => s.id === rule.region);
    return { ...region, direction: shape && shape.server ? shape.server.direction : "both" };
  }

  status(text) {
    this.$("[data-rules-status]").textContent = text;
  }

  // ---- list ------------------------------------------------------------------------------

  renderList() {
    const rows = this.rules.map((rule) => this.renderRow(rule));
    if (!rows.length) {
      const row = el("tr");
      const cell = el("td", "empty", "No rules yet: this camera creates no events. Add one below.");
      cell.colSpan = 5;
      row.append(cell);
      rows.push(row);
    }
    this.tbody.replaceChildren(...rows);
  }

  renderRow(rule) {
    const row = el("tr");
    row.dataset.ruleId = String(rule.id);
    row.classList.toggle("disabled", !rule.enabled);
    const nameCell = el("td");
    nameCell.append(el("strong", "rule-name", rule.name));
    nameCell.append(el("span", "rule-words", describeRule(rule, this.regionOf(rule), this.camera.timezone)));
    if (rule.description) nameCell.append(el("span", "detail", rule.description));
    const rowError = el("p", "error");
    rowError.setAttribute("role", "alert");
    nameCell.append(rowError);
    const severity = el("td");
    severity.append(el("span", `cfg-severity severity-${rule.severity}`, rule.severity));
    const enabledCell = el("td");
    const toggleLabel = el("label", "check");
    const toggle = /** @type {HTMLInputElement} */ (el("input"));
    toggle.type = "checkbox";
    toggle.checked = rule.enabled;
    toggle.setAttribute("aria-label", `Enabled: ${rule.name}`);
    toggle.addEventListener("change", async () => {
      toggle.disabled = true;
      const result = await api("PATCH", `${this.urls.rules}${rule.id}/`, { enabled: toggle.checked });
      toggle.disabled = false;
      if (!result.ok) {
        toggle.checked = rule.enabled;
        rowError.textContent = messages(result.data).join(" ");
        return;
      }
      this.replaceRule(result.data);
      this.status(`Rule “${result.data.name}” ${result.data.enabled ? "enabled" : "disabled"}.`);
    });
    toggleLabel.append(toggle, document.createTextNode(" on"));
    enabledCell.append(toggleLabel);
    const actions = el("td", "actions");
    const edit = el("button", "secondary", "Edit");
    edit.type = "button";
    edit.setAttribute("aria-label", `Edit rule ${rule.name}`);
    edit.addEventListener("click", () => this.open(rule));
    const remove = el("button", "danger", "Delete");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete rule ${rule.name}`);
    const confirm = el("span", "confirm");
    confirm.hidden = true;
    const yes = el("button", "danger", "Really delete");
    yes.type = "button";
    const no = el("button", "secondary", "Keep");
    no.type = "button";
    confirm.append(yes, no);
    remove.addEventListener("click", () => { confirm.hidden = false; remove.hidden = true; no.focus(); });
    no.addEventListener("click", () => { confirm.hidden = true; remove.hidden = false; });
    yes.addEventListener("click", async () => {
      const result = await api("DELETE", `${this.urls.rules}${rule.id}/`);
      if (!result.ok && result.status !== 404) {
        rowError.textContent = messages(result.data).join(" ");
        return;
      }
      this.rules = this.rules.filter((r) => r.id !== rule.id);
      if (this.editing && this.editing.id === rule.id) this.close();
      this.renderList();
      this.status(`Rule “${rule.name}” deleted.`);
    });
    actions.append(edit, remove, confirm);
    row.append(nameCell, severity, enabledCell, actions);
    return row;
  }

  replaceRule(saved) {
    const index = this.rules.findIndex((r) => r.id === saved.id);
    if (index >= 0) this.rules[index] = saved;
    else this.rules.push(saved);
    this.rules.sort((a, b) => a.name.localeCompare(b.name));
    this.renderList();
  }

  // ---- form ------------------------------------------------------------------------------

  /** Open the form for a rule (null: a new one). */
  open(rule) {
    this.editing = rule;
    const defaults = {
      name: "", description: "", trigger: "loiter", region: null,
      object_classes: this.classNames.includes("person") ? ["person"] : [], min_confidence: 0.5,
      anchor: "bottom_center", duration_seconds: 30, min_count: 2, schedule: [], cooldown_seconds: 60,
      stationary_guard: true, severity: "warning", notify_operators: true, webhook_url: "",
      has_webhook_secret: false, mqtt_topic: "", enabled: true,
    };
    const values = rule || defaults;
    this.$("[data-rule-form-title]").textContent = rule ? `Edit rule “${rule.name}”` : "New rule";
    for (const name of ["name", "description", "trigger", "anchor", "severity", "webhook_url", "mqtt_topic"]) {
      this.field(name).value = values[name] ?? "";
    }
    for (const name of ["min_confidence", "duration_seconds", "min_count", "cooldown_seconds"]) {
      this.field(name).value = String(values[name]);
    }
    for (const name of ["stationary_guard", "notify_operators", "enabled"]) this.field(name).checked = Boolean(values[name]);
    const classes = new Set(values.object_classes);
    this.form.querySelectorAll("input[name=object_classes]").forEach((box) => { box.checked = classes.has(box.value); });
    const secret = this.field("webhook_secret");
    secret.value = "";
    secret.placeholder = values.has_webhook_secret ? "A secret is set: leave empty to keep it" : "Optional";
    this.$("[data-secret-clear-row]").hidden = !values.has_webhook_secret;
    this.field("webhook_secret_clear").checked = false;
    this.scheduleRows.replaceChildren();
    (values.schedule || []).forEach((w) => this.addScheduleRow(w));
    this.fillRegions(values.region === null ? "" : String(values.region));
    this.followTrigger();
    this.clearErrors();
    this.previewEvents = [];
    this.$("[data-preview-events]").replaceChildren();
    this.$("[data-preview-status]").textContent = "";
    this.$("[data-preview-layout]").hidden = true;
    this.form.hidden = false;
    this.$("[data-rule-add]").hidden = true;
    this.showPreviewPicture();
    this.field("name").focus();
    this.form.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  close() {
    this.form.hidden = true;
    this.editing = null;
    this.$("[data-rule-add]").hidden = false;
  }

  /** Region options that suit the trigger: zones, or lines for "cross", and "whole frame" where allowed. */
  fillRegions(wanted) {
    const select = this.field("region");
    const trigger = this.field("trigger").value;
    const { kinds, whole_frame: wholeFrame } = this.triggerAreas[trigger];
    const options = [];
    if (wholeFrame) options.push(new Option("The whole frame", ""));
    const regions = this.editor.savedRegions().filter((r) => kinds.includes(r.kind));
    regions.sort((a, b) => a.name.localeCompare(b.name));
    for (const region of regions) options.push(new Option(`${region.name} (${region.kind})`, String(region.id)));
    const hint = this.$("[data-region-hint]");
    if (!options.length) {
      const missing = kinds.includes("line") ? "line" : "zone";
      const none = new Option(`No ${missing} yet: draw and save one above`, "");
      none.disabled = true;
      options.push(none);
      hint.textContent = `A “${trigger}” rule needs a ${missing}. Draw one on the picture and save it.`;
    } else {
      hint.textContent = "";
    }
    select.replaceChildren(...options);
    const values = options.filter((o) => !o.disabled).map((o) => o.value);
    select.value = values.includes(wanted) ? wanted : (values.find((v) => v !== "") ?? values[0] ?? "");
  }

  followTrigger() {
    const trigger = this.field("trigger").value;
    this.fillRegions(this.field("region").value);
    this.form.querySelectorAll("[data-show-for]").forEach((row) => {
      row.hidden = !row.dataset.showFor.split(" ").includes(trigger);
    });
    if (DURATION_LABELS[trigger]) this.$("[data-duration-label]").textContent = DURATION_LABELS[trigger];
  }

  addScheduleRow(window) {
    const fragment = /** @type {DocumentFragment} */ (this.rowTemplate.content.cloneNode(true));
    const row = /** @type {HTMLElement} */ (fragment.firstElementChild);
    const days = new Set(window ? window.days : [0, 1, 2, 3, 4]);
    row.querySelectorAll("input[data-day]").forEach((box) => { box.checked = days.has(Number(box.value)); });
    row.querySelector("[data-start]").value = window ? window.start : "08:00";
    row.querySelector("[data-end]").value = window ? window.end : "18:00";
    row.querySelector("[data-remove]").addEventListener("click", () => row.remove());
    this.scheduleRows.append(row);
  }

  numberOf(name) {
    const value = this.field(name).value.trim();
    return value === "" ? null : Number(value);
  }

  /** The form as the JSON /api/rules/ takes (without the secret). */
  payload() {
    const trigger = this.field("trigger").value;
    const region = this.field("region").value;
    return {
      camera: this.camera.id,
      name: this.field("name").value.trim(),
      description: this.field("description").value,
      trigger,
      region: region === "" ? null : Number(region),
      object_classes: [...this.form.querySelectorAll("input[name=object_classes]:checked")].map((b) => b.value),
      min_confidence: this.numberOf("min_confidence"),
      anchor: this.field("anchor").value,
      duration_seconds: USES_DURATION.has(trigger) ? this.numberOf("duration_seconds") : 0,
      min_count: trigger === "count" ? this.numberOf("min_count") : 1,
      schedule: [...this.scheduleRows.querySelectorAll("[data-schedule-row]")].map((row) => ({
        days: [...row.querySelectorAll("input[data-day]:checked")].map((b) => Number(b.value)),
        start: row.querySelector("[data-start]").value,
        end: row.querySelector("[data-end]").value,
      })),
      cooldown_seconds: this.numberOf("cooldown_seconds"),
      stationary_guard: this.field("stationary_guard").checked,
      severity: this.field("severity").value,
      notify_operators: this.field("notify_operators").checked,
      webhook_url: this.field("webhook_url").value.trim(),
      mqtt_topic: this.field("mqtt_topic").value.trim(),
      enabled: this.field("enabled").checked,
    };
  }

  clearErrors() {
    this.form.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; });
    this.form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  }

  /** Show DRF's {field: messages} next to each field; what has no place goes on top of the form. */
  showErrors(data, extraPlace) {
    this.clearErrors();
    const general = [];
    for (const [field, value] of Object.entries(data || {})) {
      const slot = this.form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
      const text = messages(value).join(" ");
      if (slot && field !== "non_field_errors") {
        slot.textContent = text;
        const input = this.field(field);
        if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
      } else {
        general.push(field === "detail" || field === "non_field_errors" ? text : `${field}: ${text}`);
      }
    }
    const top = this.form.querySelector(`[data-error-for="${extraPlace || "non_field_errors"}"]`);
    top.textContent = general.join(" ");
    const first = this.form.querySelector("[data-error-for]:not(:empty)");
    if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  async save() {
    const body = this.payload();
    if (!body.name) {
      this.showErrors({ name: "Give the rule a name." });
      return;
    }
    const secret = this.field("webhook_secret").value;
    if (secret) body.webhook_secret = secret;
    else if (this.field("webhook_secret_clear").checked) body.webhook_secret = "";
    const submit = this.$("[data-rule-save]");
    submit.disabled = true;
    const result = this.editing
      ? await api("PATCH", `${this.urls.rules}${this.editing.id}/`, body)
      : await api("POST", this.urls.rules, body);
    submit.disabled = false;
    if (!result.ok) {
      this.showErrors(result.data);
      return;
    }
    this.replaceRule(result.data);
    this.close();
    this.status(`Rule “${result.data.name}” saved. Stream workers pick it up within seconds.`);
    const row = this.tbody.querySelector(`tr[data-rule-id="${result.data.id}"]`);
    if (row) row.scrollIntoView({ block: "center" });
  }

  // ---- preview ---------------------------------------------------------------------------

  async preview() {
    const hours = this.numberOf("hours");
    const body = { ...this.payload(), hours };
    if (!body.name) body.name = "Preview";
    const statusLine = this.$("[data-preview-status]");
    const button = this.$("[data-preview-run]");
    this.clearErrors();
    statusLine.textContent = "Replaying the stored detections…";
    button.disabled = true;
    const result = await api("POST", this.urls.preview, body);
    button.disabled = false;
    if (!result.ok) {
      statusLine.textContent = result.status === 404 ? "Preview is not available on this server yet." : "";
      if (result.status !== 404) this.showErrors(result.data, "hours");
      return;
    }
    const { events, frames_evaluated: frames, detections, truncated } = result.data;
    this.previewEvents = events;
    const count = events.length === 1 ? "1 event" : `${events.length} events`;
    statusLine.textContent = `${count} in the last ${hours} h (${frames} frames, ${detections} detections replayed)`
      + (truncated ? ". Stopped early: the replay hit its limit, there may be more." : ".");
    const items = events.slice(0, MAX_PREVIEW_ROWS).map((event, index) => {
      const item = el("li");
      const button = el("button", "preview-event");
      button.type = "button";
      button.dataset.index = String(index);
      const time = el("time", "pv-when", this.timeFormat.format(new Date(event.captured_at)));
      time.dateTime = event.captured_at;
      const what = event.class_name
        ? `${event.class_name} ${Math.round(event.confidence * 100)}%${event.track_id !== null ? ` · track #${event.track_id}` : ""}`
        : "—";
      button.append(time, el("span", "pv-what", what), el("span", "pv-why", evidenceSummary(event.evidence)));
      button.addEventListener("click", () => this.selectPreview(index));
      item.append(button);
      return item;
    });
    if (events.length > MAX_PREVIEW_ROWS) items.push(el("li", "help", `… and ${events.length - MAX_PREVIEW_ROWS} more.`));
    if (!events.length) items.push(el("li", "empty", "Nothing: this rule would not have fired."));
    this.$("[data-preview-events]").replaceChildren(...items);
    this.$("[data-preview-layout]").hidden = false;
    this.selectPreview(events.length ? 0 : -1);
  }

  selectPreview(index) {
    this.selectedPreview = index;
    this.$("[data-preview-events]").querySelectorAll("button.preview-event").forEach((b) => {
      b.setAttribute("aria-pressed", String(Number(b.dataset.index) === index));
    });
    this.drawPreview();
  }

  showPreviewPicture() {
    const image = /** @type {HTMLImageElement} */ (this.$("[data-preview-image]"));
    const figure = this.$("[data-preview-figure]");
    if (this.editor.pictureUrl && !this.editor.image.hidden) {
      image.src = this.editor.pictureUrl;
      image.hidden = false;
      figure.style.setProperty("--aspect", String(this.editor.image.naturalWidth / this.editor.image.naturalHeight || 16 / 9));
    } else {
      image.hidden = true;
      figure.style.setProperty("--aspect", this.editor.stage.style.getPropertyValue("--aspect") || String(16 / 9));
    }
    this.drawPreview();
  }

  drawPreview() {
    const canvas = /** @type {HTMLCanvasElement} */ (this.$("[data-preview-canvas]"));
    const rect = canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, rect.width, rect.height);
    const event = this.previewEvents[this.selectedPreview];
    if (event) drawEvidence(ctx, event.evidence, { width: rect.width, height: rect.height });
  }
}
