// The zone / line / mask editor: a canvas over the camera's picture.
//
// Shapes are kept in normalised coordinates (0..1 of the picture's width and height), so
// they survive any window size and any change of the camera's resolution; the canvas only
// converts to pixels to draw and to hit-test. The REST API (/api/regions/) is the
// authority on what is valid: its messages are shown next to the shape, and a refused
// shape stays on the canvas, editable, until it is fixed or discarded.

import { api, el, messages } from "./api.js";
import { directionArrows, hatch, label, polygonPath, toPx, withAlpha } from "./draw.js";
import {
  centroid, clamp01, clampPoint, crossingEdges, distanceToSegment, pointInPolygon, shapeProblems,
} from "./geometry.js";

/** @typedef {[number, number]} Point */
/** @typedef {"zone"|"line"|"motion_mask"|"object_mask"} Kind */
/**
 * A shape on the canvas. `server` is the region as last saved (null: never saved).
 * @typedef {{key: number, id: number|null, kind: Kind, name: string, points: Point[], direction: string,
 *   color: string, dirty: boolean, errors: string[], server: object|null}} Shape
 */

export const KIND_LABELS = { zone: "Zone", line: "Line", motion_mask: "Motion mask", object_mask: "Object mask" };
const DEFAULT_COLORS = { zone: "#3b82f6", line: "#f59e0b", motion_mask: "#9ca3af", object_mask: "#c084fc" };
const DIRECTIONS = ["a_to_b", "b_to_a", "both"];
export const DIRECTION_LABELS = { a_to_b: "A → B", b_to_a: "B → A", both: "both ways" };
const HANDLE = 7; // vertex handle half-size, CSS px
const HIT = 10; // how close (CSS px) a pointer must be to grab a handle or a line
const NUDGE = 0.005; // arrow keys move by half a percent of the picture (Shift: five times more)

const HELP = {
  select: "Click a shape to select it. Drag its corners to move them, drag the small dot in the middle of an edge "
    + "to add a corner, right-click a corner (or select it and press Delete) to remove it. Drag inside to move the "
    + "whole shape; arrow keys nudge.",
  zone: "Click to place the corners of the zone. Close it by clicking the first corner, double-clicking or pressing "
    + "Enter. Backspace removes the last corner, Escape cancels.",
  line: "Click point A, then point B. The arrow shows which way counts as A → B; change it with the Direction button.",
  motion_mask: "Motion masks hide moving things the detector should ignore (trees, screens). Click the corners; "
    + "close with the first corner, a double-click or Enter.",
  object_mask: "Objects whose feet are in an object mask are dropped (parked cars, posters). Click the corners; "
    + "close with the first corner, a double-click or Enter.",
};

const round4 = (v) => Math.round(v * 10000) / 10000;

export class RegionEditor extends EventTarget {
  /**
   * @param {object} options
   * @param {HTMLElement} options.root the editor's section (holds the toolbar, stage and side panel)
   * @param {{id: number, name: string, frame_width: number|null, frame_height: number|null}} options.camera
   * @param {object[]} options.regions the camera's regions as the API returns them
   * @param {{snapshot: string, regions: string}} options.urls
   */
  constructor({ root, camera, regions, urls }) {
    super();
    this.camera = camera;
    this.urls = urls;
    this.$ = (selector) => root.querySelector(selector);
    this.stage = this.$("[data-stage]");
    this.image = this.$("[data-snapshot]");
    this.canvas = this.$("[data-overlay]");
    this.ctx = this.canvas.getContext("2d");
    this.tags = this.$("[data-shape-tags]");
    this.pictureStatus = this.$("[data-picture-status]");
    this.list = this.$("[data-shape-list]");
    this.help = this.$("[data-tool-help]");
    this.inspector = this.$("[data-inspector]");
    this.toolButtons = [...root.querySelectorAll("[data-tool]")];
    /** @type {Shape[]} */
    this.shapes = [];
    this.nextKey = 1;
    this.tool = "select";
    /** @type {{kind: Kind, points: Point[]}|null} */
    this.draft = null;
    /** @type {Point|null} pointer position, normalised */
    this.hover = null;
    /** @type {{key: number, vertex: number|null, start: Point, original: Point[], moved: boolean}|null} */
    this.drag = null;
    this.selectedKey = null;
    this.activeVertex = null;
    this.size = { width: 1, height: 1 };
    this.pictureUrl = null;
    regions.forEach((region) => this.shapes.push(this.fromServer(region)));
    this.setAspect(camera.frame_width && camera.frame_height ? camera.frame_width / camera.frame_height : 16 / 9);
    this.bind();
    this.setTool("select");
    this.renderList();
  }

  /** @returns {Shape} */
  fromServer(region) {
    return {
      key: this.nextKey++, id: region.id, kind: region.kind, name: region.name,
      points: region.points.map((p) => [p[0], p[1]]), direction: region.direction || "both",
      color: region.color || DEFAULT_COLORS[region.kind], dirty: false, errors: [], server: region,
    };
  }

  /** The saved regions (their names as saved), for the rule form. */
  savedRegions() {
    return this.shapes.filter((s) => s.server).map((s) => ({ id: s.id, name: s.server.name, kind: s.server.kind }));
  }

  hasUnsavedChanges() {
    return this.shapes.some((s) => s.dirty) || (this.draft !== null && this.draft.points.length > 0);
  }

  get selected() {
    return this.shapes.find((s) => s.key === this.selectedKey) || null;
  }

  // ---- picture ---------------------------------------------------------------------------

  setAspect(ratio) {
    this.stage.style.setProperty("--aspect", String(ratio));
  }

  /** Fetch the camera's clean picture; on failure show the server's reason and keep editing on a blank frame. */
  async loadPicture() {
    this.pictureStatus.hidden = false;
    this.pictureStatus.textContent = "Loading the camera's picture…";
    this.pictureStatus.dataset.state = "loading";
    let response;
    try {
      response = await fetch(`${this.urls.snapshot}?t=${Date.now()}`, { credentials: "same-origin" });
    } catch (err) {
      this.showNoPicture(`No picture: the server could not be reached (${err.message}).`);
      return;
    }
    if (!response.ok || !(response.headers.get("Content-Type") || "").startsWith("image/")) {
      const body = await response.json().catch(() => null);
      this.showNoPicture(body && body.detail ? String(body.detail) : `No picture (the server answered ${response.status}).`);
      return;
    }
    const blob = await response.blob();
    const previous = this.pictureUrl;
    this.pictureUrl = URL.createObjectURL(blob);
    this.image.src = this.pictureUrl;
    await this.image.decode().catch(() => {});
    if (previous) URL.revokeObjectURL(previous);
    if (this.image.naturalWidth && this.image.naturalHeight) this.setAspect(this.image.naturalWidth / this.image.naturalHeight);
    this.image.hidden = false;
    this.pictureStatus.hidden = true;
    this.pictureStatus.dataset.state = "ok";
    this.dispatchEvent(new CustomEvent("picture-changed", { detail: { url: this.pictureUrl } }));
  }

  showNoPicture(message) {
    this.image.hidden = true;
    this.pictureStatus.hidden = false;
    this.pictureStatus.dataset.state = "error";
    const sentence = /[.!?]$/.test(message) ? message : `${message}.`;
    this.pictureStatus.textContent = `${sentence} You can still draw: shapes are kept as fractions of the picture.`;
    this.dispatchEvent(new CustomEvent("picture-changed", { detail: { url: null } }));
  }

  // ---- events ----------------------------------------------------------------------------

  bind() {
    new ResizeObserver(() => this.resize()).observe(this.stage);
    this.toolButtons.forEach((button) => button.addEventListener("click", () => this.setTool(button.dataset.tool)));
    this.$("[data-refresh-picture]").addEventListener("click", () => this.loadPicture());
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    c.addEventListener("pointermove", (e) => this.onPointerMove(e));
    c.addEventListener("pointerup", (e) => this.onPointerUp(e));
    c.addEventListener("pointercancel", () => this.cancelDrag());
    c.addEventListener("pointerleave", () => { if (!this.drag) { this.hover = null; this.draw(); } });
    c.addEventListener("dblclick", (e) => { e.preventDefault(); if (this.draft) this.finishDraft(); });
    c.addEventListener("contextmenu", (e) => this.onContextMenu(e));
    c.addEventListener("keydown", (e) => this.onKeyDown(e));

    const name = this.$("[data-shape-name]");
    name.addEventListener("input", () => this.edit((s) => { s.name = name.value; }));
    name.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.save(); } });
    const color = this.$("[data-shape-color]");
    color.addEventListener("input", () => this.edit((s) => { s.color = color.value; }));
    this.$("[data-shape-direction]").addEventListener("click", () => this.cycleDirection());
    this.$("[data-shape-save]").addEventListener("click", () => this.save());
    this.$("[data-shape-revert]").addEventListener("click", () => this.revert());
    this.$("[data-shape-delete]").addEventListener("click", () => this.askDelete());
    this.$("[data-delete-yes]").addEventListener("click", () => this.remove());
    this.$("[data-delete-no]").addEventListener("click", () => { this.$("[data-delete-confirm]").hidden = true; });
  }

  resize() {
    const rect = this.stage.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.size = { width: Math.max(1, rect.width), height: Math.max(1, rect.height) };
    this.canvas.width = Math.round(this.size.width * ratio);
    this.canvas.height = Math.round(this.size.height * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.draw();
  }

  /** The pointer's position in normalised picture coordinates, clamped to the frame. */
  pointerAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    return clampPoint([(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height]);
  }

  /** Distance in CSS pixels between two normalised points. */
  pixelDistance(a, b) {
    return Math.hypot((a[0] - b[0]) * this.size.width, (a[1] - b[1]) * this.size.height);
  }

  setTool(tool) {
    if (this.draft && tool !== this.draft.kind) this.draft = null;
    this.tool = tool;
    this.toolButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === tool)));
    this.canvas.dataset.tool = tool;
    this.help.textContent = HELP[tool];
    this.draw();
  }

  onPointerDown(event) {
    if (event.button !== 0) return;
    this.canvas.focus({ preventScroll: true });
    const p = this.pointerAt(event);
    this.hover = p;
    if (this.tool !== "select") {
      this.addDraftPoint(p);
      return;
    }
    const shape = this.selected;
    if (shape) {
      const vertex = this.vertexAt(shape, p);
      if (vertex !== null) {
        this.activeVertex = vertex;
        this.startDrag(event, shape, vertex, p);
        return;
      }
      const edge = shape.kind === "line" ? null : this.midpointAt(shape, p);
      if (edge !== null) {
        // Insert a corner in the middle of the edge and drag it straight away.
        const a = shape.points[edge];
        const b = shape.points[(edge + 1) % shape.points.length];
        shape.points.splice(edge + 1, 0, [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
        this.markDirty(shape);
        this.activeVertex = edge + 1;
        this.startDrag(event, shape, edge + 1, p);
        return;
      }
    }
    const hit = this.shapeAt(p);
    this.select(hit ? hit.key : null);
    if (hit) this.startDrag(event, hit, null, p);
  }

  startDrag(event, shape, vertex, p) {
    this.drag = { key: shape.key, vertex, start: p, original: shape.points.map((q) => [...q]), moved: false };
    this.canvas.setPointerCapture(event.pointerId);
    this.draw();
  }

  onPointerMove(event) {
    const p = this.pointerAt(event);
    this.hover = p;
    const drag = this.drag;
    const shape = drag ? this.shapes.find((s) => s.key === drag.key) : null;
    if (drag && shape) {
      if (!drag.moved && this.pixelDistance(p, drag.start) < 2) return;
      drag.moved = true;
      if (drag.vertex !== null) {
        shape.points[drag.vertex] = p;
      } else {
        // Move the whole shape, but never past the picture's edges.
        const xs = drag.original.map((q) => q[0]);
        const ys = drag.original.map((q) => q[1]);
        const dx = Math.min(1 - Math.max(...xs), Math.max(-Math.min(...xs), p[0] - drag.start[0]));
        const dy = Math.min(1 - Math.max(...ys), Math.max(-Math.min(...ys), p[1] - drag.start[1]));
        shape.points = drag.original.map(([x, y]) => [clamp01(x + dx), clamp01(y + dy)]);
      }
      this.markDirty(shape);
    }
    this.updateCursor(p);
    this.draw();
  }

  onPointerUp(event) {
    if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
    if (this.drag) {
      this.drag = null;
      this.renderInspector();
      this.renderList();
    }
    this.draw();
  }

  cancelDrag() {
    const drag = this.drag;
    if (!drag) return;
    const shape = this.shapes.find((s) => s.key === drag.key);
    if (shape) shape.points = drag.original;
    this.drag = null;
    this.draw();
  }

  onContextMenu(event) {
    event.preventDefault();
    const p = this.pointerAt(event);
    if (this.draft) {
      this.draft.points.pop();
      this.draw();
      return;
    }
    const shape = this.selected;
    const vertex = shape ? this.vertexAt(shape, p) : null;
    if (shape && vertex !== null) this.deleteVertex(shape, vertex);
  }

  onKeyDown(event) {
    const shape = this.selected;
    switch (event.key) {
      case "Escape":
        if (this.draft) this.draft = null;
        else if (this.drag) this.cancelDrag();
        else this.select(null);
        break;
      case "Enter":
        if (!this.draft) return;
        this.finishDraft();
        break;
      case "Delete":
      case "Backspace":
        if (this.draft) this.draft.points.pop();
        else if (shape && this.activeVertex !== null) this.deleteVertex(shape, this.activeVertex);
        else return;
        break;
      case "[":
      case "]":
        if (!shape) return;
        this.activeVertex = ((this.activeVertex ?? -1) + (event.key === "]" ? 1 : -1) + shape.points.length)
          % shape.points.length;
        break;
      case "ArrowLeft":
      case "ArrowRight":
      case "ArrowUp":
      case "ArrowDown": {
        if (!shape) return;
        const step = event.shiftKey ? NUDGE * 5 : NUDGE;
        const dx = event.key === "ArrowLeft" ? -step : event.key === "ArrowRight" ? step : 0;
        const dy = event.key === "ArrowUp" ? -step : event.key === "ArrowDown" ? step : 0;
        const indexes = this.activeVertex !== null ? [this.activeVertex] : shape.points.map((_, i) => i);
        indexes.forEach((i) => { shape.points[i] = clampPoint([shape.points[i][0] + dx, shape.points[i][1] + dy]); });
        this.markDirty(shape);
        this.renderList();
        this.renderInspector();
        break;
      }
      default:
        return;
    }
    event.preventDefault();
    this.draw();
  }

  updateCursor(p) {
    let cursor = this.tool === "select" ? "default" : "crosshair";
    const shape = this.selected;
    if (this.tool === "select") {
      if (this.drag) cursor = "grabbing";
      else if (shape && (this.vertexAt(shape, p) !== null || (shape.kind !== "line" && this.midpointAt(shape, p) !== null))) {
        cursor = "grab";
      } else if (this.shapeAt(p)) cursor = "pointer";
    }
    this.canvas.style.cursor = cursor;
  }

  // ---- hit testing -----------------------------------------------------------------------

  vertexAt(shape, p) {
    for (let i = shape.points.length - 1; i >= 0; i -= 1) {
      if (this.pixelDistance(shape.points[i], p) <= HIT) return i;
    }
    return null;
  }

  /** Index of the edge whose midpoint handle is under p (edge i runs from point i to i + 1). */
  midpointAt(shape, p) {
    const n = shape.points.length;
    for (let i = 0; i < n; i += 1) {
      const a = shape.points[i];
      const b = shape.points[(i + 1) % n];
      if (this.pixelDistance([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], p) <= HIT) return i;
    }
    return null;
  }

  /** The topmost shape under p: near a line, or inside / on the edge of a polygon. */
  shapeAt(p) {
    const px = toPx(p, this.size);
    for (let i = this.shapes.length - 1; i >= 0; i -= 1) {
      const shape = this.shapes[i];
      const pixels = shape.points.map((q) => toPx(q, this.size));
      if (shape.kind === "line") {
        if (pixels.length === 2 && distanceToSegment(px, pixels[0], pixels[1]) <= HIT) return shape;
        continue;
      }
      if (pointInPolygon(p, shape.points)) return shape;
      for (let j = 0; j < pixels.length; j += 1) {
        if (distanceToSegment(px, pixels[j], pixels[(j + 1) % pixels.length]) <= HIT / 2) return shape;
      }
    }
    return null;
  }

  // ---- drawing new shapes ----------------------------------------------------------------

  addDraftPoint(p) {
    const kind = /** @type {Kind} */ (this.tool);
    if (!this.draft) this.draft = { kind, points: [] };
    const points = this.draft.points;
    if (kind !== "line" && points.length >= 3 && this.pixelDistance(points[0], p) <= HIT) {
      this.finishDraft();
      return;
    }
    // The second click of a double-click lands on the last point: it closes, it adds nothing.
    if (points.length && this.pixelDistance(points[points.length - 1], p) <= 4) return;
    points.push(p);
    if (kind === "line" && points.length === 2) this.finishDraft();
    else this.draw();
  }

  finishDraft() {
    const draft = this.draft;
    if (!draft) return;
    const needed = draft.kind === "line" ? 2 : 3;
    if (draft.points.length < needed) {
      this.help.textContent = draft.kind === "line" ? "A line needs two points: click A, then B."
        : "A shape needs at least 3 corners: keep clicking, then close it.";
      return;
    }
    this.draft = null;
    const shape = {
      key: this.nextKey++, id: null, kind: draft.kind, name: this.freeName(draft.kind), points: draft.points,
      direction: "both", color: DEFAULT_COLORS[draft.kind], dirty: true, errors: [], server: null,
    };
    this.shapes.push(shape);
    this.setTool("select");
    this.select(shape.key);
    this.$("[data-shape-name]").focus({ preventScroll: true });
    this.$("[data-shape-name]").select();
  }

  freeName(kind) {
    const taken = new Set(this.shapes.map((s) => s.name.trim().toLowerCase()));
    for (let n = 1; ; n += 1) {
      const name = `${KIND_LABELS[kind]} ${n}`;
      if (!taken.has(name.toLowerCase())) return name;
    }
  }

  // ---- editing ---------------------------------------------------------------------------

  select(key) {
    if (key !== this.selectedKey) this.activeVertex = null;
    this.selectedKey = key;
    this.$("[data-delete-confirm]").hidden = true;
    this.renderInspector();
    this.renderList();
    this.draw();
  }

  /** Apply a change to the selected shape from the side panel. */
  edit(change) {
    const shape = this.selected;
    if (!shape) return;
    change(shape);
    this.markDirty(shape);
    this.renderList();
    this.draw();
  }

  markDirty(shape) {
    shape.dirty = true;
    if (shape.errors.length) {
      // The server's verdict was about the shape as it was: drop it once the shape changes
      // (the live warnings still flag what is visibly wrong).
      shape.errors = [];
      this.renderTags();
      if (shape.key === this.selectedKey) this.$("[data-shape-errors]").replaceChildren();
    }
    this.syncDirtyState(shape);
  }

  syncDirtyState(shape) {
    if (shape.key === this.selectedKey) {
      this.$("[data-shape-save]").disabled = !shape.dirty;
      this.$("[data-shape-revert]").disabled = !shape.dirty && shape.server !== null;
    }
  }

  deleteVertex(shape, index) {
    if (shape.kind === "line") {
      this.setErrors(shape, ["A line keeps its two points: drag them, or delete the line."]);
      return;
    }
    if (shape.points.length <= 3) {
      this.setErrors(shape, ["A shape needs at least 3 corners: this one cannot lose another."]);
      return;
    }
    shape.points.splice(index, 1);
    this.activeVertex = null;
    this.markDirty(shape);
    this.renderList();
    this.renderInspector();
    this.draw();
  }

  cycleDirection() {
    this.edit((s) => { s.direction = DIRECTIONS[(DIRECTIONS.indexOf(s.direction) + 1) % DIRECTIONS.length]; });
    this.renderInspector();
  }

  setErrors(shape, errors) {
    shape.errors = errors;
    this.renderInspector();
    this.renderList();
    this.draw();
  }

  /** Save the selected shape: create or update it through the API. */
  async save() {
    const shape = this.selected;
    if (!shape) return;
    const { blocking } = shapeProblems(shape.kind, shape.points);
    if (!shape.name.trim()) blocking.push("Give the shape a name.");
    if (blocking.length) {
      this.setErrors(shape, blocking);
      return;
    }
    const body = {
      name: shape.name.trim(), kind: shape.kind, direction: shape.direction, color: shape.color,
      points: shape.points.map(([x, y]) => [round4(x), round4(y)]),
    };
    this.setErrors(shape, []);
    const saveButton = this.$("[data-shape-save]");
    saveButton.disabled = true;
    saveButton.textContent = "Saving…";
    const result = shape.id === null
      ? await api("POST", this.urls.regions, { ...body, camera: this.camera.id })
      : await api("PATCH", `${this.urls.regions}${shape.id}/`, body);
    saveButton.textContent = "Save";
    if (!result.ok) {
      // Keep everything as drawn: the user fixes it and saves again.
      this.setErrors(shape, messages(result.data));
      this.syncDirtyState(shape);
      return;
    }
    const saved = this.fromServer(result.data);
    Object.assign(shape, { ...saved, key: shape.key });
    this.setErrors(shape, []);
    this.syncDirtyState(shape);
    this.announce(`${KIND_LABELS[shape.kind]} “${shape.name}” saved.`);
    this.dispatchEvent(new CustomEvent("regions-changed"));
  }

  /** Undo unsaved changes (an unsaved new shape is discarded). */
  revert() {
    const shape = this.selected;
    if (!shape) return;
    if (!shape.server) {
      this.shapes = this.shapes.filter((s) => s !== shape);
      this.select(null);
      return;
    }
    Object.assign(shape, { ...this.fromServer(shape.server), key: shape.key });
    this.activeVertex = null;
    this.select(shape.key);
  }

  askDelete() {
    const shape = this.selected;
    if (!shape) return;
    const confirm = this.$("[data-delete-confirm]");
    this.$("[data-delete-question]").textContent = shape.server
      ? `Delete ${KIND_LABELS[shape.kind].toLowerCase()} “${shape.server.name}”? Rules that use it must be changed first.`
      : `Discard this unsaved ${KIND_LABELS[shape.kind].toLowerCase()}?`;
    confirm.hidden = false;
    this.$("[data-delete-no]").focus();
  }

  async remove() {
    const shape = this.selected;
    this.$("[data-delete-confirm]").hidden = true;
    if (!shape) return;
    if (shape.id !== null) {
      const result = await api("DELETE", `${this.urls.regions}${shape.id}/`);
      if (!result.ok && result.status !== 404) {
        this.setErrors(shape, messages(result.data));
        return;
      }
    }
    this.shapes = this.shapes.filter((s) => s !== shape);
    this.announce(`${KIND_LABELS[shape.kind]} “${shape.name}” deleted.`);
    this.select(null);
    if (shape.id !== null) this.dispatchEvent(new CustomEvent("regions-changed"));
  }

  announce(text) {
    const status = this.$("[data-editor-status]");
    status.textContent = text;
  }

  // ---- side panel ------------------------------------------------------------------------

  renderList() {
    const items = this.shapes.map((shape) => {
      const item = el("li");
      const button = el("button", "shape-item");
      button.type = "button";
      button.dataset.key = String(shape.key);
      button.setAttribute("aria-pressed", String(shape.key === this.selectedKey));
      const swatch = el("span", `swatch kind-${shape.kind}`);
      swatch.style.setProperty("--swatch", shape.color);
      button.append(swatch, el("span", "shape-name", shape.name || "(no name)"), el("span", "shape-kind", KIND_LABELS[shape.kind]));
      if (shape.errors.length) button.append(el("span", "shape-flag error-flag", "see the message"));
      else if (shape.dirty) button.append(el("span", "shape-flag", shape.server ? "unsaved changes" : "not saved"));
      button.addEventListener("click", () => { this.setTool("select"); this.select(shape.key); });
      item.append(button);
      return item;
    });
    if (!items.length) items.push(el("li", "empty", "Nothing drawn yet. Pick Zone, Line or a mask above and click on the picture."));
    this.list.replaceChildren(...items);
    this.renderTags();
  }

  renderInspector() {
    const shape = this.selected;
    this.inspector.hidden = !shape;
    if (!shape) return;
    const name = this.$("[data-shape-name]");
    if (document.activeElement !== name) name.value = shape.name;
    this.$("[data-shape-kind]").textContent = `${KIND_LABELS[shape.kind]} · ${shape.points.length} points`
      + (shape.server ? "" : " · not saved yet");
    this.$("[data-shape-color]").value = shape.color;
    const direction = this.$("[data-shape-direction]");
    direction.hidden = shape.kind !== "line";
    direction.textContent = `Direction: ${DIRECTION_LABELS[shape.direction]}`;
    this.$("[data-shape-errors]").replaceChildren(...shape.errors.map((m) => el("li", "", m)));
    const { warnings } = shapeProblems(shape.kind, shape.points);
    this.$("[data-shape-warning]").textContent = shape.errors.length ? "" : warnings.join(" ");
    this.$("[data-shape-revert]").textContent = shape.server ? "Undo changes" : "Discard";
    this.syncDirtyState(shape);
  }

  /** Error notes on the picture, next to each refused shape (positioned in % so they follow any size). */
  renderTags() {
    const tags = this.shapes.filter((s) => s.errors.length && s.points.length).map((shape) => {
      const xs = shape.points.map((p) => p[0]);
      const ys = shape.points.map((p) => p[1]);
      const tag = el("div", "shape-tag", `${shape.name}: ${shape.errors.join(" ")}`);
      tag.setAttribute("role", "alert");
      tag.dataset.key = String(shape.key);
      const below = Math.max(...ys) < 0.8;
      tag.style.left = `${Math.min(Math.min(...xs), 0.6) * 100}%`;
      tag.style.top = `${(below ? Math.max(...ys) : Math.min(...ys)) * 100}%`;
      tag.classList.toggle("above", !below);
      return tag;
    });
    this.tags.replaceChildren(...tags);
  }

  // ---- canvas ----------------------------------------------------------------------------

  draw() {
    const { ctx, size } = this;
    ctx.clearRect(0, 0, size.width, size.height);
    for (const shape of this.shapes) this.drawShape(shape, shape.key === this.selectedKey);
    if (this.draft) this.drawDraft(this.draft);
  }

  drawShape(shape, selected) {
    const { ctx, size } = this;
    const pixels = shape.points.map((p) => toPx(p, size));
    if (!pixels.length) return;
    ctx.save();
    ctx.lineWidth = selected ? 3 : 2;
    ctx.strokeStyle = shape.errors.length ? "#f85149" : shape.color;
    if (shape.kind === "line") {
      if (pixels.length === 2) {
        ctx.beginPath();
        ctx.moveTo(...pixels[0]);
        ctx.lineTo(...pixels[1]);
        ctx.stroke();
        directionArrows(ctx, pixels[0], pixels[1], shape.direction, shape.color);
        label(ctx, "A", pixels[0][0] + 8, pixels[0][1] + 4, shape.color);
        label(ctx, "B", pixels[1][0] + 8, pixels[1][1] + 4, shape.color);
      }
    } else {
      polygonPath(ctx, pixels);
      if (shape.kind === "zone") {
        ctx.fillStyle = withAlpha(shape.color, selected ? 0.28 : 0.18);
        ctx.fill();
      } else {
        ctx.fillStyle = withAlpha(shape.color, 0.2);
        ctx.fill();
        ctx.fillStyle = hatch(ctx, withAlpha(shape.color, 0.8), shape.kind === "object_mask");
        ctx.fill();
        ctx.setLineDash([6, 4]);
      }
      ctx.stroke();
      ctx.setLineDash([]);
      // Edges that cross are what the server refuses: show them.
      ctx.strokeStyle = "#f85149";
      ctx.lineWidth = 3;
      for (const [i, j] of crossingEdges(shape.points)) {
        for (const e of [i, j]) {
          ctx.beginPath();
          ctx.moveTo(...pixels[e]);
          ctx.lineTo(...pixels[(e + 1) % pixels.length]);
          ctx.stroke();
        }
      }
    }
    ctx.restore();
    // A line's name goes by its end A (its midpoint carries the direction arrows).
    const at = shape.kind === "line" ? [pixels[0][0] + 20, pixels[0][1] + 16] : toPx(centroid(shape.points), size);
    const text = `${shape.name || "(no name)"}${shape.dirty ? " *" : ""}`;
    ctx.save();
    ctx.font = "600 12px system-ui, sans-serif";
    const width = ctx.measureText(text).width;
    ctx.restore();
    const x = Math.min(Math.max(4, shape.kind === "line" ? at[0] : at[0] - width / 2), size.width - width - 4);
    const y = Math.min(Math.max(16, at[1]), size.height - 4);
    label(ctx, text, x, y, "#ffffff");
    if (selected) this.drawHandles(shape, pixels);
  }

  drawHandles(shape, pixels) {
    const { ctx } = this;
    ctx.save();
    if (shape.kind !== "line") {
      // Midpoint handles: drag one to add a corner there.
      ctx.fillStyle = "rgba(255, 255, 255, 0.55)";
      ctx.strokeStyle = "rgba(0, 0, 0, 0.6)";
      ctx.lineWidth = 1;
      for (let i = 0; i < pixels.length; i += 1) {
        const a = pixels[i];
        const b = pixels[(i + 1) % pixels.length];
        ctx.beginPath();
        ctx.arc((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, 4, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }
    if (shape.kind !== "line") {
      // Corner numbers: the server's messages name corners by them ("edge 1 (point 1 to 2)").
      const [cx, cy] = toPx(centroid(shape.points), this.size);
      pixels.forEach(([x, y], i) => {
        const dx = x - cx;
        const dy = y - cy;
        const d = Math.hypot(dx, dy) || 1;
        label(ctx, String(i + 1), x + (dx / d) * 14 - 4, y + (dy / d) * 14 + 5, "#cfe6ff");
      });
    }
    pixels.forEach(([x, y], i) => {
      ctx.fillStyle = i === this.activeVertex ? "#4aa3ff" : "#ffffff";
      ctx.strokeStyle = "#0f1419";
      ctx.lineWidth = 1.5;
      ctx.fillRect(x - HANDLE / 2 - 1, y - HANDLE / 2 - 1, HANDLE + 2, HANDLE + 2);
      ctx.strokeRect(x - HANDLE / 2 - 1, y - HANDLE / 2 - 1, HANDLE + 2, HANDLE + 2);
    });
    ctx.restore();
  }

  drawDraft(draft) {
    const { ctx, size } = this;
    const pixels = draft.points.map((p) => toPx(p, size));
    const color = DEFAULT_COLORS[draft.kind];
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    ctx.setLineDash([5, 4]);
    if (pixels.length) {
      ctx.beginPath();
      pixels.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (this.hover) ctx.lineTo(...toPx(this.hover, size));
      ctx.stroke();
    }
    ctx.setLineDash([]);
    pixels.forEach(([x, y], i) => {
      const closable = i === 0 && draft.kind !== "line" && pixels.length >= 3 && this.hover
        && this.pixelDistance(draft.points[0], this.hover) <= HIT;
      ctx.beginPath();
      ctx.arc(x, y, closable ? 8 : 4, 0, 2 * Math.PI);
      ctx.fill();
    });
    if (pixels.length) label(ctx, draft.kind === "line" ? "A" : "1", pixels[0][0] + 8, pixels[0][1] + 4, color);
    ctx.restore();
  }
}
