// DOM helpers: elements get text through textContent only.

/**
 * Create an element with an optional class and text.
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

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
