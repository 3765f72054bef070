// Box geometry for the review screen, in pixels of the item's frame (what the API stores).
// Pure functions: the frame view converts pointer positions to frame pixels before calling them.

/** @typedef {[number, number, number, number]} Box x1, y1, x2, y2 in frame pixels */
/** @typedef {{x: number, y: number}} Point */
/** @typedef {"n"|"s"|"e"|"w"|"nw"|"ne"|"sw"|"se"|"move"} Handle */

/** The API refuses boxes smaller than this (pixels, each side). */
export const MIN_SIDE = 2;

/**
 * Which part of `box` a point grabs: a corner, an edge, the inside ("move"), or nothing.
 * Corners win over edges, so a small box can still be resized from its corners.
 * @param {Box} box
 * @param {Point} point
 * @param {number} tolerance how far from an edge still grabs it, in frame pixels
 * @returns {Handle|null}
 */
export function hitHandle(box, { x, y }, tolerance) {
  const [x1, y1, x2, y2] = box;
  if (x < x1 - tolerance || x > x2 + tolerance || y < y1 - tolerance || y > y2 + tolerance) return null;
  const dx1 = Math.abs(x - x1);
  const dx2 = Math.abs(x - x2);
  const dy1 = Math.abs(y - y1);
  const dy2 = Math.abs(y - y2);
  const horizontal = Math.min(dx1, dx2) <= tolerance ? (dx1 <= dx2 ? "w" : "e") : "";
  const vertical = Math.min(dy1, dy2) <= tolerance ? (dy1 <= dy2 ? "n" : "s") : "";
  const handle = vertical + horizontal;
  if (handle) return /** @type {Handle} */ (handle);
  return "move";
}

/** @param {number} value @param {number} low @param {number} high */
function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

/**
 * `box` with `handle` dragged by (dx, dy), kept inside the frame and at least MIN_SIDE wide and high.
 * Dragging an edge past the opposite one stops there rather than flipping the box: the
 * handle under the pointer stays the same handle for the whole drag.
 * @param {Box} box the box when the drag started
 * @param {Handle} handle
 * @param {number} dx
 * @param {number} dy
 * @param {[number, number]} frameSize [width, height]
 * @returns {Box}
 */
export function dragBox(box, handle, dx, dy, [width, height]) {
  let [x1, y1, x2, y2] = box;
  if (handle === "move") {
    const mx = clamp(dx, -x1, width - x2);
    const my = clamp(dy, -y1, height - y2);
    return [x1 + mx, y1 + my, x2 + mx, y2 + my];
  }
  if (handle.includes("w")) x1 = clamp(x1 + dx, 0, x2 - MIN_SIDE);
  if (handle.includes("e")) x2 = clamp(x2 + dx, x1 + MIN_SIDE, width);
  if (handle.includes("n")) y1 = clamp(y1 + dy, 0, y2 - MIN_SIDE);
  if (handle.includes("s")) y2 = clamp(y2 + dy, y1 + MIN_SIDE, height);
  return [x1, y1, x2, y2];
}

/**
 * The box spanned by two points (any order), clipped to the frame.
 * @param {Point} a
 * @param {Point} b
 * @param {[number, number]} frameSize
 * @returns {Box}
 */
export function spanBox(a, b, [width, height]) {
  return [
    clamp(Math.min(a.x, b.x), 0, width), clamp(Math.min(a.y, b.y), 0, height),
    clamp(Math.max(a.x, b.x), 0, width), clamp(Math.max(a.y, b.y), 0, height),
  ];
}

/** @param {Box} box */
export function bigEnough(box) {
  return box[2] - box[0] >= MIN_SIDE && box[3] - box[1] >= MIN_SIDE;
}

/** @param {Box} box rounded to a tenth of a pixel, as sent to the API */
export function rounded(box) {
  return /** @type {Box} */ (box.map((v) => Math.round(v * 10) / 10));
}

/** @param {Box} a @param {Box} b */
export function sameBox(a, b) {
  return a.every((v, i) => Math.abs(v - b[i]) < 0.05);
}

/** CSS cursor for a handle. @param {Handle|null} handle */
export function cursorFor(handle) {
  if (handle === null) return "";
  if (handle === "move") return "move";
  return `${handle}-resize`;
}
