// JSON requests to Vigil's REST API with the session cookie and the CSRF token, and small
// DOM helpers. Every value from the server is written with textContent, never as HTML.

let csrfToken = "";

/** @param {string} token the token the page was rendered with */
export function setCsrfToken(token) {
  csrfToken = token;
}

/**
 * An API answer: ok, HTTP status, and the parsed JSON body (null when none).
 * @typedef {{ok: boolean, status: number, data: any}} ApiResult
 */

/**
 * Send a request to the API. Never throws on HTTP errors: callers show `data` (DRF's
 * field → messages object, or {"detail": "..."}) next to what was being saved.
 * A network failure comes back as status 0 with a "detail" message.
 * @param {"GET"|"POST"|"PATCH"|"DELETE"} method
 * @param {string} url
 * @param {object} [body]
 * @returns {Promise<ApiResult>}
 */
export async function api(method, url, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    return { ok: false, status: 0, data: { detail: `The server could not be reached (${err.message}).` } };
  }
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    data = await response.json().catch(() => null);
  }
  if (!response.ok && data === null) data = { detail: `The server answered ${response.status} ${response.statusText}.` };
  return { ok: response.ok, status: response.status, data };
}

/**
 * Flatten a DRF error value (string, list, nested object) into plain sentences.
 * @param {any} value
 * @returns {string[]}
 */
export function messages(value) {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(messages);
  if (typeof value === "object") {
    return Object.entries(value).flatMap(([key, inner]) =>
      messages(inner).map((m) => (/^\d+$/.test(key) ? `Row ${Number(key) + 1}: ${m}` : m)));
  }
  return [String(value)];
}

/**
 * Create an element with an optional class and text (set as textContent).
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
