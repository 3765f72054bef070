// Renders the queue list: one row per item with its crop, what it is, and why it is there.

import { el } from "../configure/api.js";
import { VERDICTS, fixed, when, whyTags } from "./format.js";

/**
 * @param {HTMLElement} list the <ol>
 * @param {any[]} items
 * @param {number} current index of the current item
 * @param {Record<string, {name: string, timezone: string}>} cameras
 */
export function renderQueue(list, items, current, cameras) {
  list.replaceChildren(...items.map((item, i) => {
    const li = document.createElement("li");
    const row = el("button", "rv-item");
    row.type = "button";
    row.dataset.id = String(item.id);
    row.dataset.status = item.status;
    if (item.verdict) row.dataset.verdict = item.verdict;
    if (i === current) row.setAttribute("aria-current", "true");

    const thumb = /** @type {HTMLImageElement} */ (el("img", "rv-thumb"));
    thumb.alt = "";
    thumb.loading = "lazy";
    if (item.crop_url) thumb.src = item.crop_url;

    const body = el("span", "rv-item-body");
    const what = el("span", "rv-item-what", `${item.class_name} ${fixed(item.confidence)}`);
    const where = el("span", "rv-item-where",
      `${item.camera_name} · ${when(item.captured_at, cameras[String(item.camera)]?.timezone)}`);
    const tags = el("span", "rv-tags");
    for (const tag of whyTags(item)) tags.append(el("span", `rv-tag rv-tag-${tag.kind}`, tag.text));
    if (item.status === "reviewed") {
      const verdict = VERDICTS[item.verdict] || "Reviewed";
      tags.append(el("span", `rv-tag rv-verdict-${item.verdict || "done"}`,
        item.verdict === "relabel" ? `${verdict}: ${item.label}` : verdict));
    }
    body.append(what, where, tags);
    row.append(thumb, body);
    li.append(row);
    return li;
  }));
  const active = list.querySelector("[aria-current=true]");
  if (active) active.scrollIntoView({ block: "nearest" });
}
