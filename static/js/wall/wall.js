// The live wall: the cameras the operator may see, 1, 4, 9 or 16 to a page, one enlarged on
// click (Escape goes back). Only the tiles on screen are subscribed on /ws/live/.

import { Tile } from "./tile.js";
import { setText } from "./dom.js";

export const LAYOUTS = [1, 4, 9, 16];
const LAYOUT_KEY = "vigil.wall.layout";
/** Frames per second asked for each camera, by how many are on screen: a few, never a flood. */
const FPS = { enlarged: 10, 1: 10, 4: 5, 9: 3, 16: 2 };

export class LiveWall {
  /**
   * @param {{grid: HTMLElement, layouts: HTMLElement, prev: HTMLButtonElement, next: HTMLButtonElement,
   *          pageText: HTMLElement, back: HTMLButtonElement, empty: HTMLElement}} parts
   * @param {Array<{id: number, name: string}>} cameras enabled cameras the user may see
   * @param {import("./live.js").LiveClient} live
   */
  constructor(parts, cameras, live) {
    this.parts = parts;
    this.live = live;
    /** @type {Map<number, Tile>} */
    this.tiles = new Map();
    this.order = [];
    const stored = Number(localStorage.getItem(LAYOUT_KEY));
    this.layout = LAYOUTS.includes(stored) ? stored : 4;
    this.page = 0;
    /** @type {number|null} */
    this.enlarged = null;
    cameras.forEach((camera) => this.addCamera(camera));

    parts.layouts.addEventListener("click", (e) => {
      const button = /** @type {HTMLElement} */ (e.target).closest("[data-layout]");
      if (button) this.setLayout(Number(/** @type {HTMLElement} */ (button).dataset.layout));
    });
    parts.prev.addEventListener("click", () => this.turn(-1));
    parts.next.addEventListener("click", () => this.turn(1));
    parts.back.addEventListener("click", () => this.shrink());
    document.addEventListener("keydown", (e) => this.key(e));
    // A hidden tab draws nothing: stop the frames instead of letting them pile up.
    document.addEventListener("visibilitychange", () => this.subscribe());
    live.addEventListener("frame", (e) => {
      const frame = /** @type {CustomEvent} */ (e).detail;
      this.tiles.get(frame.header.camera_id)?.receive(frame);
    });
    live.addEventListener("camera", (e) => {
      const { camera } = /** @type {CustomEvent} */ (e).detail;
      this.tiles.get(camera.id)?.setCamera(camera);
    });
    live.addEventListener("health", (e) => {
      const health = /** @type {CustomEvent} */ (e).detail;
      this.tiles.get(health.camera_id)?.setHealth(health);
    });
    live.addEventListener("unsubscribed", (e) => this.removeCamera(/** @type {CustomEvent} */ (e).detail.camera_id));
    live.addEventListener("reset", () => this.tiles.forEach((tile) => tile.reset(live.generation)));
    live.socket.addEventListener("state", () => {
      if (live.socket.state !== "open") this.tiles.forEach((tile) => tile.setDisconnected());
    });
    this.render();
  }

  /** @param {{id: number, name: string}} camera */
  addCamera(camera) {
    const known = this.tiles.get(camera.id);
    if (known) {
      known.setName(camera.name);
      return;
    }
    const tile = new Tile({ ...camera }, {
      onOpen: (id) => (this.enlarged === id ? this.shrink() : this.enlarge(id)),
      ack: (id, count, generation) => this.live.ack(id, count, generation),
    });
    this.tiles.set(camera.id, tile);
    this.order.push(camera.id);
    this.order.sort((a, b) => this.tiles.get(a).camera.name.localeCompare(this.tiles.get(b).camera.name) || a - b);
    this.parts.grid.append(...this.order.map((id) => this.tiles.get(id).root));
  }

  /** @param {number} id */
  removeCamera(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.root.remove();
    this.tiles.delete(id);
    this.order = this.order.filter((other) => other !== id);
    if (this.enlarged === id) this.enlarged = null;
    this.render();
  }

  get pages() {
    return Math.max(1, Math.ceil(this.order.length / this.layout));
  }

  /** Camera ids on screen now. */
  visible() {
    if (this.enlarged !== null) return [this.enlarged];
    return this.order.slice(this.page * this.layout, (this.page + 1) * this.layout);
  }

  /** @param {number} layout */
  setLayout(layout) {
    if (!LAYOUTS.includes(layout)) return;
    const first = this.visible()[0];
    this.layout = layout;
    localStorage.setItem(LAYOUT_KEY, String(layout));
    // Stay on the page that shows the camera that was first on screen.
    this.page = first === undefined ? 0 : Math.floor(Math.max(0, this.order.indexOf(first)) / layout);
    this.enlarged = null;
    this.render();
  }

  /** Next or previous page; with one camera enlarged, the next or previous camera. @param {number} step */
  turn(step) {
    if (this.enlarged !== null) {
      const next = this.order[this.order.indexOf(this.enlarged) + step];
      if (next !== undefined) {
        this.page = Math.floor(this.order.indexOf(next) / this.layout);
        this.enlarged = next;
        this.render();
      }
      return;
    }
    this.page = Math.min(this.pages - 1, Math.max(0, this.page + step));
    this.render();
  }

  /** @param {number} id */
  enlarge(id) {
    this.enlarged = id;
    this.render();
    this.parts.back.focus();
  }

  shrink() {
    const id = this.enlarged;
    this.enlarged = null;
    this.render();
    if (id !== null) this.tiles.get(id)?.open.focus();
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.closest("input, select, textarea, dialog")) return;
    if (e.key === "Escape" && this.enlarged !== null) {
      e.preventDefault();
      this.shrink();
    } else if (e.key === "PageDown") {
      this.turn(1);
    } else if (e.key === "PageUp") {
      this.turn(-1);
    }
  }

  render() {
    this.page = Math.min(this.page, this.pages - 1);
    const shown = new Set(this.visible());
    this.tiles.forEach((tile, id) => {
      tile.root.hidden = !shown.has(id);
      tile.root.classList.toggle("enlarged", id === this.enlarged);
    });
    const { grid, layouts, prev, next, pageText, back, empty } = this.parts;
    grid.dataset.layout = this.enlarged !== null ? "enlarged" : String(this.layout);
    layouts.querySelectorAll("[data-layout]").forEach((button) => {
      button.setAttribute("aria-pressed", String(Number(/** @type {HTMLElement} */ (button).dataset.layout) === this.layout));
    });
    const at = this.enlarged !== null ? this.order.indexOf(this.enlarged) : -1;
    prev.disabled = this.enlarged !== null ? at <= 0 : this.page === 0;
    next.disabled = this.enlarged !== null ? at >= this.order.length - 1 : this.page >= this.pages - 1;
    prev.setAttribute("aria-label", this.enlarged !== null ? "Previous camera" : "Previous page");
    next.setAttribute("aria-label", this.enlarged !== null ? "Next camera" : "Next page");
    setText(pageText, this.enlarged !== null ? this.tiles.get(this.enlarged)?.camera.name || ""
      : `Page ${this.page + 1} of ${this.pages}`);
    back.hidden = this.enlarged === null;
    empty.hidden = this.order.length > 0;
    this.subscribe();
  }

  subscribe() {
    const ids = document.hidden ? [] : this.visible();
    const fps = this.enlarged !== null ? FPS.enlarged : FPS[this.layout];
    this.live.watch(ids, fps);
    // Frames may come before the next paint: a tile's canvas must have its size already.
    ids.forEach((id) => this.tiles.get(id)?.redraw());
  }
}
