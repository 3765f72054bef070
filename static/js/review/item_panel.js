// The review screen's item panel: what the current item is, why it is in the queue, and
// what reviewers did to it. Every value from the server is written with textContent.

import { el } from "../configure/api.js";
import { VERDICTS, fixed, statusText, when, whySentences } from "./format.js";

const FACTS = ["class", "confidence", "camera", "time", "status"];

/**
 * @param {HTMLElement} root holds the [data-fact] cells, #item-title, #item-position, #item-why
 * @param {any|null} item
 * @param {string} position e.g. "3 of 40"
 * @param {{cameras: Record<string, {name: string, timezone: string}>, rules?: Record<string, string>}} config
 */
export function renderFacts(root, item, position, config) {
  /** @param {string} name @param {string} text */
  const fact = (name, text) => {
    /** @type {HTMLElement} */ (root.querySelector(`[data-fact="${name}"]`)).textContent = text;
  };
  const why = /** @type {HTMLElement} */ (root.querySelector("#item-why"));
  if (!item) {
    for (const name of FACTS) fact(name, "—");
    why.replaceChildren();
    return;
  }
  const camera = config.cameras[String(item.camera)];
  /** @type {HTMLElement} */ (root.querySelector("#item-title")).textContent = `${item.class_name} #${item.id}`;
  /** @type {HTMLElement} */ (root.querySelector("#item-position")).textContent = position;
  const track = item.track_id !== null && item.track_id !== undefined ? ` · track #${item.track_id}` : "";
  fact("class", `${item.class_name}${track}`);
  fact("confidence", fixed(item.confidence));
  fact("camera", item.camera_name);
  fact("time", `${when(item.captured_at, camera?.timezone)}${camera ? ` (${camera.timezone})` : ""}`);
  fact("status", statusText(item));
  const lines = whySentences(item, config.rules || {}).map((line) => el("li", "", line));
  if (item.event) {
    const li = el("li");
    const link = /** @type {HTMLAnchorElement} */ (el("a", "", `Open event #${item.event}`));
    link.href = `/events/${Number(item.event)}/`;
    li.append(link);
    lines.push(li);
  }
  why.replaceChildren(...lines);
}

/**
 * The item's corrections, newest first, or a line saying why there are none to show.
 * @param {HTMLElement} list
 * @param {any[]|string} corrections the API's corrections, or a message
 */
export function renderHistory(list, corrections) {
  if (typeof corrections === "string") list.replaceChildren(el("li", "rv-muted", corrections));
  else if (!corrections.length) list.replaceChildren(el("li", "rv-muted", "No corrections yet."));
  else list.replaceChildren(...corrections.map(historyRow));
}

/** @param {any} correction @returns {HTMLElement} */
function historyRow(correction) {
  const li = el("li", correction.undone_at ? "rv-undone" : "");
  const what = VERDICTS[correction.action] || correction.action;
  const label = correction.action === "relabel" || correction.action === "add_missed"
    ? `: ${correction.after?.class_name ?? ""}` : "";
  li.append(el("span", "", `${what}${label}`));
  li.append(el("span", "rv-muted", ` by ${correction.reviewer_name || "someone"}, ${when(correction.created_at)}`));
  if (correction.undone_at) li.append(el("span", "rv-muted", " (undone)"));
  if (correction.note) li.append(el("q", "rv-note", correction.note));
  return li;
}
