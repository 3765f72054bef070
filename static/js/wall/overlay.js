// Drawing over a live frame: the camera's zones, lines and masks, and the tracked boxes of
// that very frame. Coordinates are normalised (0..1); `size` is the picture's size in canvas
// units, and the caller has translated the context to the picture's top-left corner.
// Text goes onto the canvas with fillText: never parsed as HTML.

import { directionArrows, hatch, label, polygonPath, withAlpha } from "../configure/draw.js";

/** @typedef {{width: number, height: number}} Size */

const MASK_COLOR = "#9aa4ae";

/** @param {unknown} p */
const isPoint = (p) => Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]);

/**
 * A stable, well-spread colour per track id (golden-angle hues), so a person keeps the
 * colour of their box from frame to frame.
 * @param {number|null|undefined} trackId
 */
export function trackColor(trackId) {
  if (trackId === null || trackId === undefined) return "#f85149";
  const hue = (Number(trackId) * 137.508) % 360;
  return `hsl(${hue.toFixed(0)}, 90%, 62%)`;
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {Array<{name: string, kind: string, points: number[][], direction: string, color: string}>} regions
 * @param {Size} size
 */
export function drawRegions(ctx, regions, size) {
  for (const region of regions || []) {
    const points = (region.points || []).filter(isPoint).map(([x, y]) => [x * size.width, y * size.height]);
    const color = /^#[0-9a-f]{6}$/i.test(region.color || "") ? region.color : "#4aa3ff";
    ctx.save();
    if (region.kind === "line" && points.length === 2) {
      const [a, b] = points;
      ctx.strokeStyle = color;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
      directionArrows(ctx, a, b, region.direction || "both", color);
      label(ctx, region.name || "line", Math.min(a[0], b[0]) + 4, Math.max(14, Math.min(a[1], b[1]) - 6), color);
    } else if (points.length >= 3) {
      const mask = region.kind === "motion_mask" || region.kind === "object_mask";
      polygonPath(ctx, points);
      ctx.fillStyle = mask ? hatch(ctx, withAlpha("#9aa4ae", 0.55), region.kind === "object_mask") : withAlpha(color, 0.14);
      ctx.fill();
      ctx.strokeStyle = mask ? MASK_COLOR : color;
      ctx.lineWidth = mask ? 1 : 2;
      if (mask) ctx.setLineDash([5, 4]);
      ctx.stroke();
      if (!mask) {
        const top = points.reduce((p, q) => (q[1] < p[1] ? q : p));
        label(ctx, region.name || "zone", top[0] + 4, Math.max(14, top[1] - 6), color);
      }
    }
    ctx.restore();
  }
}

/**
 * Tracked boxes with "class confidence #track" labels.
 * @param {CanvasRenderingContext2D} ctx
 * @param {import("./live.js").LiveBox[]} boxes
 * @param {Size} size
 */
export function drawBoxes(ctx, boxes, size) {
  for (const item of boxes || []) {
    if (!Array.isArray(item.box) || item.box.length !== 4 || !item.box.every(Number.isFinite)) continue;
    const [x1, y1, x2, y2] = [item.box[0] * size.width, item.box[1] * size.height, item.box[2] * size.width, item.box[3] * size.height];
    const color = trackColor(item.track_id);
    ctx.save();
    ctx.strokeStyle = "rgba(0, 0, 0, 0.6)";
    ctx.lineWidth = 4;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.restore();
    // Untracked detections (no id, or the tracker's negative "not confirmed yet") get no number.
    const track = Number.isInteger(item.track_id) && item.track_id >= 0 ? ` #${item.track_id}` : "";
    const text = `${item.class_name || "object"} ${Math.round((Number(item.confidence) || 0) * 100)}%${track}`;
    // Above the box, or inside its top edge when the box touches the top of the picture.
    label(ctx, text, x1 + 3, y1 > 18 ? y1 - 5 : y1 + 15, color);
  }
}
