// Canvas drawing shared by the region editor and the evidence overlay. Inputs are
// normalised points; `size` is the canvas size in CSS pixels (the context is already
// scaled for the device pixel ratio). Text is drawn with fillText, never parsed as HTML.

/** @typedef {[number, number]} Point */
/** @typedef {{width: number, height: number}} Size */

/** @param {Point} p @param {Size} size @returns {Point} the point in canvas pixels */
export const toPx = (p, size) => [p[0] * size.width, p[1] * size.height];

const ARROW_LENGTH = 30;

/** Draw an arrow from `from` to `to` (pixels), outlined in black so it reads on any picture. */
export function arrow(ctx, from, to, color, width = 3) {
  const angle = Math.atan2(to[1] - from[1], to[0] - from[0]);
  const head = [
    [to[0] - 11 * Math.cos(angle - 0.45), to[1] - 11 * Math.sin(angle - 0.45)],
    [to[0] - 11 * Math.cos(angle + 0.45), to[1] - 11 * Math.sin(angle + 0.45)],
  ];
  ctx.save();
  ctx.lineJoin = "round";
  for (const [stroke, extra] of [["rgba(0, 0, 0, 0.75)", 3], [color, 0]]) {
    ctx.strokeStyle = stroke;
    ctx.fillStyle = stroke;
    ctx.lineWidth = width + extra;
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(to[0], to[1]);
    ctx.lineTo(...head[0]);
    ctx.lineTo(...head[1]);
    ctx.closePath();
    if (extra) ctx.stroke();
    ctx.fill();
  }
  ctx.restore();
}

/**
 * The unit normal of A→B that the "a_to_b" arrow follows, in pixels: (-dy, dx) points to
 * the side where cross(B - A, P - A) > 0 with y down (docs/rules-contract.md).
 * @returns {Point}
 */
export function aToBNormal(a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = Math.hypot(dx, dy) || 1;
  return [-dy / length, dx / length];
}

/** The direction arrows of a line at its midpoint: one for a_to_b / b_to_a, two for both. */
export function directionArrows(ctx, a, b, direction, color) {
  const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const [nx, ny] = aToBNormal(a, b);
  const signs = direction === "a_to_b" ? [1] : direction === "b_to_a" ? [-1] : [1, -1];
  for (const s of signs) {
    arrow(ctx, [mid[0] + s * nx * 4, mid[1] + s * ny * 4], [mid[0] + s * nx * ARROW_LENGTH, mid[1] + s * ny * ARROW_LENGTH], color);
  }
}

/** A text label with a dark background so it reads on any picture. */
export function label(ctx, text, x, y, color = "#ffffff") {
  ctx.save();
  ctx.font = "600 12px system-ui, sans-serif";
  const width = ctx.measureText(text).width;
  ctx.fillStyle = "rgba(0, 0, 0, 0.7)";
  ctx.fillRect(x - 3, y - 13, width + 6, 17);
  ctx.fillStyle = color;
  ctx.fillText(text, x, y);
  ctx.restore();
}

/** Outline (and optionally fill) a closed polygon given in pixels. */
export function polygonPath(ctx, pixels) {
  ctx.beginPath();
  pixels.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.closePath();
}

/** A colour with an alpha, from "#rrggbb". */
export function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!m) return `rgba(59, 130, 246, ${alpha})`;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
}

/** A hatch pattern (diagonal for motion masks, crossed for object masks) to shade masks apart from zones. */
export function hatch(ctx, color, crossed) {
  const tile = document.createElement("canvas");
  tile.width = 10;
  tile.height = 10;
  const t = tile.getContext("2d");
  t.strokeStyle = color;
  t.lineWidth = 1.5;
  t.beginPath();
  t.moveTo(0, 10);
  t.lineTo(10, 0);
  if (crossed) {
    t.moveTo(0, 0);
    t.lineTo(10, 10);
  }
  t.stroke();
  return ctx.createPattern(tile, "repeat");
}

function formatSeconds(s) {
  return s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
}

/**
 * Draw why a rule fired (an event's or a preview hit's "evidence", docs/rules-contract.md):
 * the area, the box, the track's path (oldest faint, newest strong), the crossing point
 * with its direction, counted objects.
 * @param {CanvasRenderingContext2D} ctx
 * @param {object} evidence
 * @param {Size} size
 */
export function drawEvidence(ctx, evidence, size) {
  if (!evidence) return;
  const area = evidence.area;
  if (area && Array.isArray(area.points)) {
    const pixels = area.points.map((p) => toPx(p, size));
    ctx.save();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#4aa3ff";
    if (area.kind === "line" && pixels.length === 2) {
      ctx.beginPath();
      ctx.moveTo(...pixels[0]);
      ctx.lineTo(...pixels[1]);
      ctx.stroke();
      directionArrows(ctx, pixels[0], pixels[1], area.direction || "both", "#4aa3ff");
    } else {
      polygonPath(ctx, pixels);
      ctx.fillStyle = "rgba(74, 163, 255, 0.15)";
      ctx.fill();
      ctx.stroke();
    }
    ctx.restore();
    if (area.name) label(ctx, area.name, pixels[0][0] + 4, pixels[0][1] - 6, "#9ccfff");
  }
  if (Array.isArray(evidence.box) && evidence.box.length === 4) {
    const [x1, y1] = toPx([evidence.box[0], evidence.box[1]], size);
    const [x2, y2] = toPx([evidence.box[2], evidence.box[3]], size);
    ctx.save();
    ctx.strokeStyle = "#f59e0b";
    ctx.lineWidth = 2;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.restore();
  }
  const path = Array.isArray(evidence.track_path) ? evidence.track_path : [];
  if (path.length) {
    ctx.save();
    ctx.lineWidth = 2.5;
    for (let i = 1; i < path.length; i += 1) {
      ctx.strokeStyle = `rgba(250, 204, 21, ${0.25 + (0.75 * i) / path.length})`;
      ctx.beginPath();
      ctx.moveTo(...toPx([path[i - 1][1], path[i - 1][2]], size));
      ctx.lineTo(...toPx([path[i][1], path[i][2]], size));
      ctx.stroke();
    }
    const last = toPx([path[path.length - 1][1], path[path.length - 1][2]], size);
    ctx.fillStyle = "#facc15";
    ctx.beginPath();
    ctx.arc(last[0], last[1], 4, 0, 2 * Math.PI);
    ctx.fill();
    ctx.restore();
  }
  const crossing = evidence.crossing;
  if (crossing && Array.isArray(crossing.point)) {
    const p = toPx(crossing.point, size);
    ctx.save();
    ctx.strokeStyle = "#f85149";
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(p[0], p[1], 9, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.restore();
    if (area && area.kind === "line" && area.points.length === 2) {
      const a = toPx(area.points[0], size);
      const b = toPx(area.points[1], size);
      const [nx, ny] = aToBNormal(a, b);
      const s = crossing.direction === "b_to_a" ? -1 : 1;
      arrow(ctx, p, [p[0] + s * nx * 34, p[1] + s * ny * 34], "#f85149");
    }
    label(ctx, crossing.direction === "b_to_a" ? "crossed B → A" : "crossed A → B", p[0] + 12, p[1] + 22, "#ffb4ae");
  }
  if (Array.isArray(evidence.counted)) {
    evidence.counted.forEach((c, i) => {
      if (!Array.isArray(c.point)) return;
      const p = toPx(c.point, size);
      ctx.save();
      ctx.fillStyle = "#3fb950";
      ctx.beginPath();
      ctx.arc(p[0], p[1], 6, 0, 2 * Math.PI);
      ctx.fill();
      ctx.restore();
      label(ctx, String(i + 1), p[0] + 8, p[1] - 6, "#b6f0c0");
    });
  }
  if (typeof evidence.dwell_s === "number" && path.length) {
    const last = path[path.length - 1];
    const p = toPx([last[1], last[2]], size);
    label(ctx, `stayed ${formatSeconds(evidence.dwell_s)}`, p[0] + 8, p[1] - 8, "#fde68a");
  }
}

/**
 * Why a rule fired, in one line of plain words (for lists of events).
 * @param {object} evidence
 * @returns {string}
 */
export function evidenceSummary(evidence) {
  if (!evidence) return "";
  const where = evidence.area && evidence.area.name ? evidence.area.name : "the frame";
  switch (evidence.trigger) {
    case "cross": {
      const dir = evidence.crossing && evidence.crossing.direction === "b_to_a" ? "B → A" : "A → B";
      return `crossed ${where} ${dir}`;
    }
    case "loiter":
      return typeof evidence.dwell_s === "number" ? `stayed in ${where} ${formatSeconds(evidence.dwell_s)}` : `stayed in ${where}`;
    case "enter":
      return `entered ${where}`;
    case "leave":
      return `left ${where}`;
    case "count":
      return `${evidence.count ?? "?"} at once in ${where}`;
    case "absence":
      return `${where} empty`;
    case "seen":
      return `seen in ${where}`;
    default:
      return evidence.trigger ? String(evidence.trigger) : "";
  }
}
