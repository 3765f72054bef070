// Draws why a rule fired (an event's evidence, docs/rules-contract.md) over a snapshot:
// the object's box, the zone or the line with its direction arrow(s), the track's path,
// the crossing point and the objects a count rule counted.
// Used by the event page and by the rule preview of the configure page.
// Text goes onto the canvas with fillText, or back to the caller as plain strings: never HTML.

export const COLORS = {
  area: "#4aa3ff",
  box: "#f85149",
  track: "#3fb950",
  crossing: "#ffd33d",
  counted: "#d2a8ff",
};

/** @typedef {[number, number]} Point normalised: x, y in 0..1 of the frame, origin top-left */
/** @typedef {{kind: string, label: string, color: string}} LegendItem */

/** @param {unknown} v @returns {v is number} */
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

/** @param {unknown} p @returns {p is Point} */
const isPoint = (p) => Array.isArray(p) && p.length >= 2 && isNumber(p[0]) && isNumber(p[1]);

/**
 * A “Door”-style quoted name, kept short enough for a label on the picture.
 * @param {unknown} name
 */
function quoted(name) {
  const text = String(name ?? "").trim() || "unnamed";
  return `“${text.length > 60 ? `${text.slice(0, 59)}…` : text}”`;
}

const DIRECTION_TEXT = { a_to_b: "A→B", b_to_a: "B→A", both: "both ways" };

/**
 * Draw `evidence` over `image` on `canvas`.
 *
 * The canvas takes the image's natural size, so the drawing is as sharp as the snapshot
 * and scales with it in CSS. Without an image (snapshot missing or broken) the canvas
 * keeps its current size and gets a dark background: the geometry is still worth seeing.
 * Malformed parts of the evidence are skipped, never thrown on: it is stored JSON.
 *
 * @param {HTMLCanvasElement} canvas
 * @param {HTMLImageElement|ImageBitmap|null} image a loaded snapshot, or null
 * @param {Record<string, any>|null} evidence Event.evidence: points normalised, times epoch seconds
 * @param {number[]|null} [box] the object's box [x1, y1, x2, y2] normalised; default: evidence.box
 * @returns {LegendItem[]} what was drawn, for a legend the caller writes with textContent
 */
export function drawEvidence(canvas, image, evidence, box) {
  const ev = evidence && typeof evidence === "object" ? evidence : {};
  if (image) {
    canvas.width = image.naturalWidth || image.width;
    canvas.height = image.naturalHeight || image.height;
  }
  const W = canvas.width;
  const H = canvas.height;
  const ctx = canvas.getContext("2d");
  ctx.save();
  ctx.clearRect(0, 0, W, H);
  if (image) {
    ctx.drawImage(image, 0, 0, W, H);
  } else {
    ctx.fillStyle = "#0b0f14";
    ctx.fillRect(0, 0, W, H);
  }
  // Line widths and fonts grow with the picture, so a 4K snapshot is not drawn in hairlines.
  const s = Math.max(1, Math.min(W, H) / 400);
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  ctx.font = `600 ${Math.round(13 * s)}px system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  /** @param {Point} p @returns {Point} */
  const px = (p) => [p[0] * W, p[1] * H];
  /** @type {LegendItem[]} */
  const legend = [];

  const area = ev.area && typeof ev.area === "object" ? ev.area : null;
  const points = area && Array.isArray(area.points) ? area.points.filter(isPoint).map(px) : [];
  if (area && area.kind === "line" && points.length === 2) {
    const color = area.color || COLORS.area;
    drawLine(ctx, points[0], points[1], area.direction || "both", color, s);
    labelAt(ctx, `${quoted(area.name)} ${DIRECTION_TEXT[area.direction] ?? ""}`.trim(),
      points[0][0], points[0][1] - 16 * s, color, s);
    legend.push({ kind: "line", label: `Line ${quoted(area.name)}, counts ${DIRECTION_TEXT[area.direction] ?? "both ways"}`, color });
  } else if (area && points.length >= 3) {
    const color = area.color || COLORS.area;
    drawZone(ctx, points, color, s);
    const top = points.reduce((a, b) => (b[1] < a[1] ? b : a));
    labelAt(ctx, quoted(area.name), top[0], Math.max(12 * s, top[1] - 14 * s), color, s);
    legend.push({ kind: "zone", label: `Zone ${quoted(area.name)}`, color });
  }

  const theBox = Array.isArray(box) && box.length === 4 && box.every(isNumber) ? box
    : Array.isArray(ev.box) && ev.box.length === 4 && ev.box.every(isNumber) ? ev.box : null;
  if (theBox) {
    const [x1, y1] = px([theBox[0], theBox[1]]);
    const [x2, y2] = px([theBox[2], theBox[3]]);
    ctx.strokeStyle = COLORS.box;
    ctx.lineWidth = 3 * s;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    legend.push({ kind: "box", label: "The object that fired the rule", color: COLORS.box });
  }

  const crossing = ev.crossing && typeof ev.crossing === "object" ? ev.crossing : null;
  if (crossing && isPoint(crossing.point)) {
    const [x, y] = px(crossing.point);
    drawMarker(ctx, x, y, COLORS.crossing, s);
    const dir = DIRECTION_TEXT[crossing.direction] ?? "";
    labelAt(ctx, `crossed ${dir}`.trim(), x + 14 * s, y + 16 * s, COLORS.crossing, s);
    legend.push({ kind: "crossing", label: `Where it crossed ${dir}`.trim(), color: COLORS.crossing });
  }

  // After the crossing marker: the track's arrowhead usually ends right on it.
  const path = Array.isArray(ev.track_path)
    ? ev.track_path.filter((p) => Array.isArray(p) && p.length >= 3 && isPoint([p[1], p[2]])).map((p) => px([p[1], p[2]]))
    : [];
  if (path.length) {
    drawTrack(ctx, path, COLORS.track, s);
    legend.push({ kind: "track", label: `Track path (${path.length} points, arrow at the newest)`, color: COLORS.track });
  }

  const counted = Array.isArray(ev.counted) ? ev.counted.filter((c) => c && isPoint(c.point)) : [];
  // Counted objects often stand close together: the track number goes inside the dot,
  // where neighbouring labels cannot cover it.
  counted.forEach((c) => {
    const [x, y] = px(c.point);
    const label = isNumber(c.track_id) ? String(c.track_id) : "";
    ctx.font = `700 ${Math.round(11 * s)}px system-ui, sans-serif`;
    const r = Math.max(8 * s, ctx.measureText(label).width / 2 + 3 * s);
    ctx.fillStyle = COLORS.counted;
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1.5 * s;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = "#1a0b2e";
    ctx.textAlign = "center";
    ctx.fillText(label, x, y + 0.5 * s);
    ctx.textAlign = "start";
  });
  if (counted.length) {
    legend.push({
      kind: "counted", label: `${counted.length} counted object${counted.length === 1 ? "" : "s"} (track numbers)`,
      color: COLORS.counted,
    });
  }
  ctx.restore();
  return legend;
}

/** Semi-transparent polygon with a solid outline. */
function drawZone(ctx, points, color, s) {
  ctx.beginPath();
  points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.closePath();
  ctx.globalAlpha = 0.18;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2.5 * s;
  ctx.stroke();
}

/**
 * A line A→B with its ends named and its counting direction(s) as arrows at the midpoint.
 *
 * Same convention as the engine (docs/rules-contract.md): "a_to_b" is crossing to the side
 * where cross(B−A, P−A) > 0 in image coordinates (y down). The normal (−dy, dx) points to
 * that side: cross((dx, dy), (−dy, dx)) = dx² + dy² > 0. It is computed in pixels so the
 * arrow looks perpendicular on a non-square picture; scaling x and y by positive factors
 * keeps the sign of the cross product, so the side is the same as in normalised units.
 */
function drawLine(ctx, a, b, direction, color, s) {
  ctx.strokeStyle = color;
  ctx.lineWidth = 3.5 * s;
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = Math.hypot(dx, dy) || 1;
  const normal = [-dy / length, dx / length];
  const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const reach = 34 * s;
  const sides = direction === "a_to_b" ? [1] : direction === "b_to_a" ? [-1] : [1, -1];
  for (const side of sides) {
    const tip = [mid[0] + side * normal[0] * reach, mid[1] + side * normal[1] * reach];
    ctx.beginPath();
    ctx.moveTo(mid[0], mid[1]);
    ctx.lineTo(tip[0], tip[1]);
    ctx.lineWidth = 3 * s;
    ctx.stroke();
    arrowHead(ctx, mid, tip, color, 12 * s);
  }
  for (const [point, name] of [[a, "A"], [b, "B"]]) {
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(point[0], point[1], 9 * s, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = "#001b33";
    ctx.textAlign = "center";
    ctx.fillText(name, point[0], point[1] + 0.5 * s);
    ctx.textAlign = "start";
  }
}

/** The track as a polyline with a dot per point and an arrowhead on the newest point. */
function drawTrack(ctx, path, color, s) {
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 2.5 * s;
  ctx.beginPath();
  path.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  ctx.stroke();
  path.slice(0, -1).forEach(([x, y]) => {
    ctx.beginPath();
    ctx.arc(x, y, 2.8 * s, 0, 2 * Math.PI);
    ctx.fill();
  });
  const end = path[path.length - 1];
  // The arrow points along the last move; points where the object stood still add no direction.
  const from = [...path].reverse().find(([x, y]) => Math.hypot(x - end[0], y - end[1]) > 1);
  if (from) {
    arrowHead(ctx, from, end, color, 13 * s);
  } else {
    ctx.beginPath();
    ctx.arc(end[0], end[1], 4.5 * s, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** A filled arrowhead at `tip`, pointing away from `from`. */
function arrowHead(ctx, from, tip, color, size) {
  const angle = Math.atan2(tip[1] - from[1], tip[0] - from[0]);
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.moveTo(tip[0], tip[1]);
  ctx.lineTo(tip[0] - size * Math.cos(angle - Math.PI / 7), tip[1] - size * Math.sin(angle - Math.PI / 7));
  ctx.lineTo(tip[0] - size * Math.cos(angle + Math.PI / 7), tip[1] - size * Math.sin(angle + Math.PI / 7));
  ctx.closePath();
  ctx.fill();
}

/** A ring with a cross: where the track crossed the line. */
function drawMarker(ctx, x, y, color, s) {
  const r = 9 * s;
  ctx.lineWidth = 3 * s;
  ctx.strokeStyle = "#000";
  ctx.beginPath();
  ctx.arc(x, y, r + 1.5 * s, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.strokeStyle = color;
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.moveTo(x - r * 0.7, y - r * 0.7);
  ctx.lineTo(x + r * 0.7, y + r * 0.7);
  ctx.moveTo(x + r * 0.7, y - r * 0.7);
  ctx.lineTo(x - r * 0.7, y + r * 0.7);
  ctx.stroke();
}

/** Text on a dark box, kept inside the canvas. */
function labelAt(ctx, text, x, y, color, s) {
  const pad = 4 * s;
  const height = 18 * s;
  const width = ctx.measureText(text).width + 2 * pad;
  const left = Math.min(Math.max(0, x), ctx.canvas.width - width);
  const top = Math.min(Math.max(0, y - height / 2), ctx.canvas.height - height);
  ctx.fillStyle = "rgba(0, 0, 0, 0.72)";
  ctx.fillRect(left, top, width, height);
  ctx.fillStyle = color;
  ctx.textAlign = "start";
  ctx.fillText(text, left + pad, top + height / 2);
}
