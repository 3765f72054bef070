// Plain geometry on normalised points ([x, y] with x, y in 0..1, y down), shared by the
// region editor and the evidence overlay. No DOM here.

/** @typedef {[number, number]} Point */

/** Shortest line the server accepts (workers/pipeline/geometry.py MIN_LINE_LENGTH). */
export const MIN_LINE_LENGTH = 0.005;

/** @param {number} v @returns {number} v limited to 0..1 */
export const clamp01 = (v) => Math.min(1, Math.max(0, v));

/** @param {Point} p @returns {Point} */
export const clampPoint = ([x, y]) => [clamp01(x), clamp01(y)];

/** Cross product of (b - a) and (p - a): > 0 when p lies on the side the "a_to_b" arrow points to.
 * The sign is the same in pixels and in normalised units (both axes scale by a positive factor). */
export function side(a, b, p) {
  return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
}

/** @returns {boolean} whether segments p1-p2 and q1-q2 properly cross or touch. */
export function segmentsIntersect(p1, p2, q1, q2) {
  const d1 = side(q1, q2, p1);
  const d2 = side(q1, q2, p2);
  const d3 = side(p1, p2, q1);
  const d4 = side(p1, p2, q2);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  const onSegment = (a, b, p) =>
    Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
  return (d1 === 0 && onSegment(q1, q2, p1)) || (d2 === 0 && onSegment(q1, q2, p2)) ||
    (d3 === 0 && onSegment(p1, p2, q1)) || (d4 === 0 && onSegment(p1, p2, q2));
}

/** Pairs of edge indexes [i, j] of a closed polygon that cross (adjacent edges excluded).
 * Edge i runs from points[i] to points[i + 1]. O(n²): polygons drawn by hand are small. */
export function crossingEdges(points) {
  const n = points.length;
  const found = [];
  if (n < 4) return found;
  for (let i = 0; i < n; i += 1) {
    for (let j = i + 2; j < n; j += 1) {
      if (i === 0 && j === n - 1) continue; // they share points[0]
      if (segmentsIntersect(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n])) found.push([i, j]);
    }
  }
  return found;
}

/** Signed area (shoelace), in normalised units. */
export function polygonArea(points) {
  let sum = 0;
  for (let i = 0; i < points.length; i += 1) {
    const [x1, y1] = points[i];
    const [x2, y2] = points[(i + 1) % points.length];
    sum += x1 * y2 - x2 * y1;
  }
  return sum / 2;
}

/** Even-odd test of point p against a polygon. */
export function pointInPolygon(p, points) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Distance from p to segment a-b, in whatever units the points are in. */
export function distanceToSegment(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** Mean of the vertices: where a polygon's label goes. */
export function centroid(points) {
  const n = points.length || 1;
  return [points.reduce((s, p) => s + p[0], 0) / n, points.reduce((s, p) => s + p[1], 0) / n];
}

/** Problems a shape has that are cheap to find here, in plain words. The API checks again
 * (and is the authority); these only warn while drawing and catch the obvious before a request.
 * @param {"zone"|"line"|"motion_mask"|"object_mask"} kind
 * @param {Point[]} points
 * @returns {{blocking: string[], warnings: string[]}} blocking problems are not sent to the server. */
export function shapeProblems(kind, points) {
  const blocking = [];
  const warnings = [];
  if (kind === "line") {
    if (points.length !== 2) blocking.push("A line needs exactly two points, A and B.");
    else if (Math.hypot(points[1][0] - points[0][0], points[1][1] - points[0][1]) < MIN_LINE_LENGTH) {
      blocking.push("The line is too short: A and B are (almost) on the same spot.");
    }
    return { blocking, warnings };
  }
  if (points.length < 3) blocking.push("A shape needs at least 3 points.");
  else if (crossingEdges(points).length) warnings.push("Its edges cross each other.");
  else if (Math.abs(polygonArea(points)) < 1e-5) warnings.push("It has (almost) no area.");
  return { blocking, warnings };
}
