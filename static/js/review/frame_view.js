// The current item's full frame with its box drawn on a canvas laid over the image.
//
// Boxes live in pixels of the item's frame (`frame_size`); the canvas is drawn in CSS
// pixels of the displayed picture times devicePixelRatio, so the box follows any size the
// layout gives the picture. The wrapper keeps the frame's aspect ratio (CSS --aspect), so
// the image fills it exactly and one scale per axis maps frame pixels to the screen.

import { bigEnough, cursorFor, dragBox, hitHandle, sameBox, spanBox } from "./boxes.js";

/** @typedef {import("./boxes.js").Box} Box */
/** @typedef {import("./boxes.js").Handle} Handle */
/** @typedef {{box: Box, label: string}} Extra a box drawn beside the item's (a missed object) */

const COLORS = { box: "#4aa3ff", rejected: "#f85149", edited: "#d29922", missed: "#3fb950" };
/** How far from an edge (CSS pixels) a press still grabs it. */
const GRAB_PX = 9;

export class FrameView {
  /**
   * @param {{wrap: HTMLElement, image: HTMLImageElement, canvas: HTMLCanvasElement, status: HTMLElement}} parts
   * @param {{onEdit: (box: Box|null) => void, onDrawn: (box: Box) => void}} callbacks
   */
  constructor({ wrap, image, canvas, status }, { onEdit, onDrawn }) {
    this.wrap = wrap;
    this.image = image;
    this.canvas = canvas;
    this.status = status;
    this.onEdit = onEdit;
    this.onDrawn = onDrawn;
    /** @type {[number, number]} */
    this.frameSize = [16, 9];
    /** @type {Box|null} the item's box as stored */
    this.box = null;
    /** @type {Box|null} the box being adjusted (null: not changed) */
    this.edited = null;
    this.label = "";
    this.rejected = false;
    /** @type {Extra[]} */
    this.extras = [];
    /** @type {"adjust"|"draw"} */
    this.mode = "adjust";
    /** @type {Box|null} the missed box being drawn */
    this.drawing = null;
    /** @type {{handle: Handle|"draw", start: {x: number, y: number}, from: Box|null, pointer: number}|null} */
    this.drag = null;

    new ResizeObserver(() => this.render()).observe(wrap);
    image.addEventListener("load", () => {
      this.status.hidden = true;
      image.hidden = false;
      this.render();
    });
    image.addEventListener("error", () => {
      if (!image.getAttribute("src")) return;
      image.hidden = true;
      this.showStatus("The frame could not be loaded (removed by retention?): the box is drawn on a blank picture.");
      this.render();
    });
    canvas.addEventListener("pointerdown", (e) => this.press(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.release(e));
    canvas.addEventListener("pointercancel", () => this.cancelDrag());
  }

  /**
   * Show an item's frame and box; forgets any unsaved adjustment and drawing.
   * @param {{frame_url: string, frame_size: [number, number], box: Box, label: string, class_name: string,
   *   confidence: number, verdict: string}} item
   */
  show(item) {
    const [width, height] = Array.isArray(item.frame_size) && item.frame_size[0] > 0 ? item.frame_size : [16, 9];
    this.frameSize = [width, height];
    this.wrap.style.setProperty("--aspect", String(width / height));
    this.box = /** @type {Box} */ ([...item.box]);
    this.label = `${item.label || item.class_name} ${item.confidence.toFixed(2)}`;
    this.rejected = item.verdict === "reject";
    this.edited = null;
    this.drawing = null;
    this.extras = [];
    this.mode = "adjust";
    this.canvas.dataset.mode = this.mode;
    if (this.image.getAttribute("src") !== item.frame_url) {
      this.image.hidden = true;
      this.showStatus("Loading the frame…");
      if (item.frame_url) this.image.src = item.frame_url;
      else {
        this.image.removeAttribute("src");
        this.showStatus("No frame was stored for this item.");
      }
    }
    this.render();
  }

  /** Nothing to show (the queue is empty). @param {string} message */
  clear(message) {
    this.box = null;
    this.edited = null;
    this.extras = [];
    this.image.hidden = true;
    this.image.removeAttribute("src");
    this.showStatus(message);
    this.render();
  }

  /** @param {string} message */
  showStatus(message) {
    this.status.textContent = message;
    this.status.hidden = false;
  }

  /** Boxes drawn beside the item's: missed objects added to this frame. @param {Extra[]} extras */
  setExtras(extras) {
    this.extras = extras;
    this.render();
  }

  /** Start drawing a missed object's box (the next drag on the picture). */
  startDrawing() {
    this.mode = "draw";
    this.drawing = null;
    this.canvas.dataset.mode = this.mode;
    this.canvas.style.cursor = "crosshair";
  }

  /** Back to adjusting the item's box; drops a box being drawn. */
  stopDrawing() {
    this.mode = "adjust";
    this.drawing = null;
    this.canvas.dataset.mode = this.mode;
    this.canvas.style.cursor = "";
    this.render();
  }

  /** Forget the unsaved adjustment of the item's box. */
  resetEdit() {
    this.edited = null;
    this.render();
    this.onEdit(null);
  }

  /** Frame pixels per CSS pixel of the displayed picture, per axis. */
  scale() {
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.width / this.frameSize[0] || 1, y: rect.height / this.frameSize[1] || 1, rect };
  }

  /** @param {PointerEvent} e @returns {{x: number, y: number}} the pointer in frame pixels */
  framePoint(e) {
    const { x, y, rect } = this.scale();
    return { x: (e.clientX - rect.left) / x, y: (e.clientY - rect.top) / y };
  }

  /** @param {PointerEvent} e */
  press(e) {
    if (e.button !== 0 || !this.box) return;
    const point = this.framePoint(e);
    if (this.mode === "draw") {
      this.drag = { handle: "draw", start: point, from: null, pointer: e.pointerId };
      this.drawing = spanBox(point, point, this.frameSize);
    } else {
      const current = this.edited || this.box;
      const handle = hitHandle(current, point, GRAB_PX / this.scale().x);
      if (handle === null) return;
      this.drag = { handle, start: point, from: current, pointer: e.pointerId };
    }
    this.canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
    this.render();
  }

  /** @param {PointerEvent} e */
  move(e) {
    const point = this.framePoint(e);
    if (!this.drag) {
      if (this.mode === "adjust" && this.box) {
        const handle = hitHandle(this.edited || this.box, point, GRAB_PX / this.scale().x);
        this.canvas.style.cursor = cursorFor(handle);
      }
      return;
    }
    if (this.drag.handle === "draw") {
      this.drawing = spanBox(this.drag.start, point, this.frameSize);
    } else if (this.drag.from) {
      this.edited = dragBox(this.drag.from, this.drag.handle, point.x - this.drag.start.x,
        point.y - this.drag.start.y, this.frameSize);
    }
    this.render();
  }

  /** @param {PointerEvent} e */
  release(e) {
    const drag = this.drag;
    if (!drag || e.pointerId !== drag.pointer) return;
    this.move(e);
    this.drag = null;
    if (drag.handle === "draw") {
      const box = this.drawing;
      if (box && bigEnough(box)) this.onDrawn(box);
      else this.drawing = null;
    } else if (this.edited && this.box && sameBox(this.edited, this.box)) {
      this.edited = null;
    }
    if (drag.handle !== "draw") this.onEdit(this.edited);
    this.render();
  }

  cancelDrag() {
    this.drag = null;
    this.drawing = null;
    this.render();
  }

  /** Redraw the overlay at the picture's current size. */
  render() {
    const rect = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(rect.width * ratio));
    const height = Math.max(1, Math.round(rect.height * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d"));
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (!this.box) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const sx = rect.width / this.frameSize[0];
    const sy = rect.height / this.frameSize[1];
    /** @param {Box} b */
    const view = (b) => /** @type {Box} */ ([b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy]);
    for (const extra of this.extras) drawBox(ctx, view(extra.box), COLORS.missed, extra.label, { dashed: true });
    if (this.edited) {
      drawBox(ctx, view(this.box), COLORS.box, "", { dashed: true, faint: true });
      drawBox(ctx, view(this.edited), COLORS.edited, `${this.label} · adjusted`, { handles: true });
    } else {
      drawBox(ctx, view(this.box), this.rejected ? COLORS.rejected : COLORS.box, this.label,
        { handles: this.mode === "adjust" });
    }
    if (this.drawing) drawBox(ctx, view(this.drawing), COLORS.missed, "missed object", { dashed: true });
    this.canvas.dataset.scale = `${sx.toFixed(4)},${sy.toFixed(4)}`;
  }
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {Box} box in CSS pixels
 * @param {string} color
 * @param {string} label drawn as canvas text (not HTML)
 * @param {{dashed?: boolean, faint?: boolean, handles?: boolean}} [style]
 */
function drawBox(ctx, [x1, y1, x2, y2], color, label, { dashed = false, faint = false, handles = false } = {}) {
  ctx.save();
  ctx.globalAlpha = faint ? 0.5 : 1;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.setLineDash(dashed ? [6, 4] : []);
  ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
  ctx.setLineDash([]);
  if (handles) {
    ctx.fillStyle = color;
    for (const [hx, hy] of [[x1, y1], [x2, y1], [x1, y2], [x2, y2], [(x1 + x2) / 2, y1], [(x1 + x2) / 2, y2],
      [x1, (y1 + y2) / 2], [x2, (y1 + y2) / 2]]) {
      ctx.fillRect(hx - 3.5, hy - 3.5, 7, 7);
    }
  }
  if (label) {
    ctx.font = "600 13px system-ui, sans-serif";
    const width = ctx.measureText(label).width + 10;
    const top = y1 >= 20 ? y1 - 20 : y2 + 2;
    ctx.fillStyle = color;
    ctx.fillRect(x1, top, width, 18);
    ctx.fillStyle = "#001b33";
    ctx.fillText(label, x1 + 5, top + 13);
  }
  ctx.restore();
}
