// Plain-words formatting shared by the review pages. Returns strings only: callers write
// them with textContent, never as HTML.

/** Novelty (cosine distance to the nearest reviewed item) from which an item counts as "novel". */
export const NOVEL_FROM = 0.3;

/**
 * @param {number|null|undefined} value 0..1
 * @param {number} [digits]
 */
export function fixed(value, digits = 2) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";
}

/** @param {number|null|undefined} value 0..1 */
export function percent(value) {
  return typeof value === "number" && Number.isFinite(value) ? `${Math.round(value * 100)} %` : "—";
}

/**
 * A capture time in the camera's timezone (an unknown zone falls back to the browser's).
 * @param {string} iso
 * @param {string} [timeZone] IANA name
 */
export function when(iso, timeZone) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  const options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false };
  try {
    return new Intl.DateTimeFormat("en-CA", { ...options, timeZone }).format(date).replace(",", "");
  } catch (_unknownZone) {
    return new Intl.DateTimeFormat("en-CA", options).format(date).replace(",", "");
  }
}

/**
 * `datetime-local` input value (local wall time) → ISO 8601 with offset, as the API filters take it.
 * @param {string} value
 * @returns {string} "" when empty or invalid
 */
export function localToIso(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

/** @typedef {{reason: string, in_random_sample: boolean, novelty: ?number, threshold: ?number,
 *   confidence: number, uncertainty: number, score: ?number, rule: ?number}} QueueItem */

/**
 * Short tags saying why an item is in the queue (for the queue list).
 * @param {QueueItem} item
 * @returns {{kind: string, text: string}[]}
 */
export function whyTags(item) {
  const tags = [];
  if (item.in_random_sample) tags.push({ kind: "random", text: "random sample" });
  if (item.reason === "event") tags.push({ kind: "event", text: "event" });
  if (item.reason === "near_threshold") tags.push({ kind: "near", text: "near threshold" });
  if (item.novelty === null || item.novelty === undefined || item.novelty >= NOVEL_FROM) {
    tags.push({ kind: "novel", text: "novel" });
  }
  return tags;
}

/**
 * Sentences saying why an item is in the queue (for the item panel).
 * @param {QueueItem} item
 * @param {Record<string, string>} rules rule id → name
 * @returns {string[]}
 */
export function whySentences(item, rules) {
  const lines = [];
  const rule = item.rule !== null && rules[String(item.rule)] ? `“${rules[String(item.rule)]}”` : "";
  if (item.reason === "event") lines.push(rule ? `Fired the rule ${rule}.` : "Fired a rule (deleted since).");
  if (item.reason === "near_threshold") {
    const of = rule ? ` of ${rule}` : "";
    lines.push(`Confidence ${fixed(item.confidence)} is near the alert threshold ${fixed(item.threshold)}${of}.`);
  }
  if (item.in_random_sample) lines.push("Random sample: its verdict counts toward the precision figures.");
  if (item.novelty === null || item.novelty === undefined || item.novelty >= 0.999) {
    lines.push("Novel: nothing like it has been reviewed yet.");
  } else if (item.novelty >= NOVEL_FROM) {
    lines.push(`Novel: distance ${fixed(item.novelty)} to the nearest reviewed item.`);
  } else {
    lines.push(`Like an item already reviewed (distance ${fixed(item.novelty)}).`);
  }
  if (typeof item.score === "number") lines.push(`Queue score ${fixed(item.score)} (uncertainty ${fixed(item.uncertainty)}).`);
  return lines;
}

/** Verdicts in words. */
export const VERDICTS = {
  confirm: "Confirmed",
  reject: "False positive",
  relabel: "Relabelled",
  adjust_box: "Box adjusted",
  add_missed: "Missed object added",
};

/**
 * The reviewed state of an item in words.
 * @param {{status: string, verdict: string, label: string, class_name: string}} item
 */
export function statusText(item) {
  if (item.status !== "reviewed") return "Not reviewed yet";
  const verdict = VERDICTS[item.verdict] || item.verdict;
  return item.label && item.label !== item.class_name ? `${verdict}: ${item.label}` : verdict;
}
