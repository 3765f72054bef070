// DOM helpers: elements get text through textContent only.

import { el } from "../configure/api.js";

export { el };

/**
 * A `<button type="button">` with its action name in `data-action`.
 * @param {string} text
 * @param {string} action
 * @param {string} [className]
 */
export function actionButton(text, action, className = "") {
  const button = /** @type {HTMLButtonElement} */ (el("button", className, text));
  button.type = "button";
  button.dataset.action = action;
  return button;
}

/** Set text only when it changed (the feed's ages tick every second). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Parse the JSON of a `json_script` element. */
export function jsonScript(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent || "null") : null;
}
