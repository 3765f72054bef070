// One camera on the wall: its newest frame on a canvas with the zones, lines and tracked
// boxes drawn over it, and its health. Frames are acknowledged only once drawn.

import { clock } from "./format.js";
import { el, setText } from "./dom.js";
import { drawBoxes, drawRegions } from "./overlay.js";

const HEALTH_TEXT = { live: "live", stale: "stale", offline: "offline", connecting: "connecting" };

/** Resolves at the browser's next paint; never while the tab is hidden (that is the point). */
const nextPaint = () => new Promise((resolve) => requestAnimationFrame(resolve));

export class Tile {
  /**
   * @param {{id: number, name: string}} camera
   * @param {{onOpen: (id: number) => void, ack: (cameraId: number, count: number, generation: number) => void}} hooks
   */
  constructor(camera, { onOpen, ack }) {
    this.camera = camera;
    this.ack = ack;
    /** @type {Array<object>} zones, lines and masks, from the "camera" message */
    this.regions = [];
    this.received = 0; // frames received on this connection
    this.acked = 0; // ... of which acknowledged
    this.drawn = 0; // frames drawn since the page opened
    this.generation = 0;
    /** @type {{header: import("./live.js").FrameHeader, jpeg: Blob, seq: number, generation: number}|null} */
    this.pending = null;
    this.busy = false;
    /** @type {{header: import("./live.js").FrameHeader, bitmap: ImageBitmap}|null} the frame on screen, to redraw on resize */
    this.shown = null;

    this.root = el("figure", "tile");
    this.root.dataset.cameraId = String(camera.id);
    this.root.dataset.health = "connecting";
    this.open = /** @type {HTMLButtonElement} */ (el("button", "tile-stage"));
    this.open.type = "button";
    this.canvas = /** @type {HTMLCanvasElement} */ (el("canvas", "tile-canvas"));
    this.canvas.setAttribute("role", "img");
    this.note = el("span", "tile-note", "Waiting for the first picture…"); // a button holds phrasing content only
    this.open.append(this.canvas, this.note);
    this.open.addEventListener("click", () => onOpen(camera.id));
    this.name = el("span", "tile-name");
    this.badge = el("span", "health-badge", HEALTH_TEXT.connecting);
    this.reason = el("span", "tile-reason");
    this.time = el("time", "tile-time");
    const caption = el("figcaption");
    caption.append(this.name, this.badge, this.reason, this.time);
    this.root.append(this.open, caption);
    this.setName(camera.name);
    new ResizeObserver(() => this.redraw()).observe(this.open);
  }

  /** @param {string} name */
  setName(name) {
    this.camera.name = name;
    setText(this.name, name);
    this.open.setAttribute("aria-label", `${name}: enlarge`);
    this.canvas.setAttribute("aria-label", `Live picture of ${name}`);
  }

  /** A new connection: counts start over (the server forgot what it sent on the old one). */
  reset(generation) {
    this.generation = generation;
    this.received = 0;
    this.acked = 0;
  }

  /** @param {{regions: Array<object>, name: string}} camera */
  setCamera(camera) {
    this.regions = Array.isArray(camera.regions) ? camera.regions : [];
    if (camera.name) this.setName(camera.name);
    this.redraw();
  }

  /**
   * @param {{state: string, reason: string, detail: string, frame_age_s: number|null, fps: number}} health
   */
  setHealth(health) {
    const state = HEALTH_TEXT[health.state] ? health.state : "offline";
    this.root.dataset.health = state;
    setText(this.badge, HEALTH_TEXT[state]);
    setText(this.reason, health.reason || (state === "live" && health.fps ? `${health.fps.toFixed(1)} fps` : ""));
    this.badge.title = health.detail || health.reason || "";
    if (!this.drawn) setText(this.note, health.reason ? `No picture: ${health.reason}` : "Waiting for the first picture…");
  }

  /** The socket is lost: what is on screen is no longer live. */
  setDisconnected() {
    this.root.dataset.health = "connecting";
    setText(this.badge, "reconnecting");
    setText(this.reason, "");
  }

  /**
   * A frame arrived. Only the newest is kept while one is being decoded: a slow browser
   * skips frames instead of queueing them.
   * @param {{header: import("./live.js").FrameHeader, jpeg: Blob, generation: number}} frame
   */
  receive(frame) {
    if (frame.generation !== this.generation) this.reset(frame.generation);
    this.received += 1;
    this.pending = { ...frame, seq: this.received };
    if (!this.busy) this.pump();
  }

  async pump() {
    this.busy = true;
    while (this.pending) {
      const frame = this.pending;
      this.pending = null;
      let bitmap;
      try {
        bitmap = await createImageBitmap(frame.jpeg);
      } catch {
        this.acknowledge(frame); // a broken JPEG: skip it, but let the server send the next
        continue;
      }
      await nextPaint();
      this.show(frame.header, bitmap);
      // Acknowledge after drawing: this frame and any skipped before it. The frame that
      // arrived meanwhile (this.pending) stays unacknowledged until it is drawn in turn.
      this.acknowledge(frame);
    }
    this.busy = false;
  }

  acknowledge(frame) {
    if (frame.generation !== this.generation) return;
    const count = frame.seq - this.acked;
    if (count > 0) {
      this.acked = frame.seq;
      this.ack(this.camera.id, count, frame.generation);
      this.root.dataset.acks = String((Number(this.root.dataset.acks) || 0) + count);
    }
  }

  show(header, bitmap) {
    if (this.shown) this.shown.bitmap.close();
    this.shown = { header, bitmap };
    this.drawn += 1;
    this.note.hidden = true;
    this.redraw();
    this.root.dataset.frames = String(this.drawn);
    this.root.dataset.capturedAt = String(header.captured_at);
    this.root.dataset.boxes = String((header.boxes || []).length);
    setText(this.time, clock(header.captured_at));
    this.time.dateTime = new Date(header.captured_at * 1000).toISOString();
  }

  /** Draw the shown frame, fitted into the tile, with the regions and its own boxes. */
  redraw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const cssWidth = width / ratio;
    const cssHeight = height / ratio;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, cssWidth, cssHeight);
    if (!this.shown) return;
    const { header, bitmap } = this.shown;
    const scale = Math.min(cssWidth / bitmap.width, cssHeight / bitmap.height);
    const size = { width: bitmap.width * scale, height: bitmap.height * scale };
    const left = (cssWidth - size.width) / 2;
    const top = (cssHeight - size.height) / 2;
    ctx.drawImage(bitmap, left, top, size.width, size.height);
    ctx.save();
    ctx.translate(left, top);
    ctx.beginPath();
    ctx.rect(0, 0, size.width, size.height);
    ctx.clip();
    drawRegions(ctx, this.regions, size);
    drawBoxes(ctx, header.boxes, size);
    ctx.restore();
  }
}
