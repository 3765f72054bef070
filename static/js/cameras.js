// Camera pages: live status of the list (refreshed from /api/cameras/ without a reload),
// confirmations before destructive actions, the object table filter and "Test connection".
// Every value from the server is written with textContent, never as HTML.

import { wireTestConnection } from "./test_connection.js";

const REFRESH_MS = 3000;

/** Forms with data-confirm ask before submitting (no inline onsubmit handlers). */
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

document.querySelectorAll("[data-test-connection]").forEach(wireTestConnection);

/** The object table has one row per model class (80 for COCO): a filter finds a row quickly. */
document.querySelectorAll("[data-object-filter]").forEach((input) => {
  const rows = input.closest("fieldset").querySelectorAll("tr[data-object]");
  input.addEventListener("input", () => {
    const wanted = input.value.trim().toLowerCase();
    rows.forEach((row) => { row.hidden = wanted !== "" && !row.dataset.object.includes(wanted); });
  });
  // Numbers typed for an unticked object would be ignored by the server: tick it.
  rows.forEach((row) => {
    const box = row.querySelector('input[type="checkbox"]');
    row.querySelectorAll('input[type="number"]').forEach((number) => {
      number.addEventListener("input", () => { if (number.value !== "") box.checked = true; });
    });
  });
});

/**
 * "12 s ago" style age. `now` is the server's clock (from the response's Date header),
 * so a browser whose clock is off does not show "-40 s ago".
 * @param {string|null} iso
 * @param {number} now milliseconds since the epoch
 */
export function age(iso, now) {
  if (!iso) return "—";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

const table = document.getElementById("camera-table");
const note = document.getElementById("status-refresh");
const labelsNode = document.getElementById("status-labels");
const labels = labelsNode ? JSON.parse(labelsNode.textContent) : {};
let clockOffset = 0; // server clock minus browser clock, in ms

/** @param {HTMLElement} row @param {string} field */
const cell = (row, field) => row.querySelector(`[data-field="${field}"]`);

/** @param {HTMLTableRowElement} row @param {Record<string, any>} camera one /api/cameras/ item */
function updateRow(row, camera) {
  const status = cell(row, "status");
  status.className = `status status-${camera.status}`;
  status.textContent = labels[camera.status] ?? camera.status;
  const detail = cell(row, "status_detail");
  detail.textContent = camera.status_detail || "";
  detail.hidden = !camera.status_detail;
  cell(row, "decoded_fps").textContent = Number(camera.decoded_fps).toFixed(1);
  cell(row, "detect_fps").textContent =
    `${Number(camera.processed_fps).toFixed(1)} / ${Number(camera.detect_fps).toFixed(1)}`;
  const last = cell(row, "last_frame");
  if (camera.last_frame_at) last.dataset.at = camera.last_frame_at; else delete last.dataset.at;
  cell(row, "worker").textContent = camera.worker || "—";
  const toggle = cell(row, "toggle");
  if (toggle) toggle.textContent = camera.enabled ? "Disable" : "Enable";
  row.classList.toggle("camera-disabled", !camera.enabled);
  row.classList.remove("camera-gone");
}

function updateAges() {
  const now = Date.now() + clockOffset;
  table.querySelectorAll('[data-field="last_frame"]').forEach((td) => {
    td.textContent = age(td.dataset.at ?? null, now);
  });
}

/** Every camera from the paginated API (a few pages at most). */
async function fetchCameras() {
  const cameras = [];
  let url = "/api/cameras/";
  for (let page = 0; url && page < 20; page += 1) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const date = Date.parse(response.headers.get("Date") ?? "");
    if (!Number.isNaN(date)) clockOffset = date - Date.now();
    const body = await response.json();
    cameras.push(...body.results);
    url = body.next;
  }
  return cameras;
}

async function refresh() {
  try {
    const cameras = await fetchCameras();
    const byId = new Map(cameras.map((c) => [String(c.id), c]));
    table.querySelectorAll("tbody tr[data-camera-id]").forEach((row) => {
      const camera = byId.get(row.dataset.cameraId);
      if (camera) updateRow(row, camera); else row.classList.add("camera-gone");
    });
    const unknown = cameras.filter((c) => !table.querySelector(`tr[data-camera-id="${Number(c.id)}"]`));
    note.textContent = unknown.length
      ? `Status refreshes every few seconds. ${unknown.length} camera(s) added elsewhere: reload to see them.`
      : "Status refreshes every few seconds.";
    note.dataset.state = "ok";
  } catch (err) {
    note.textContent = `Could not refresh the status (${err.message}); retrying.`;
    note.dataset.state = "error";
  }
  updateAges();
}

if (table && note) {
  refresh();
  setInterval(refresh, REFRESH_MS);
}
