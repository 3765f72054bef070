// Operator dashboard: live alerts over a WebSocket and the newest frame of each camera.
// Every value from the server is written with textContent, never as HTML.

const alertsList = document.getElementById("alerts");
const liveState = document.getElementById("live-state");
const seen = new Set();

function setState(state, text) {
  liveState.dataset.state = state;
  liveState.textContent = text;
}

function age(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  return `${Math.floor(seconds / 3600)}h ago`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderAlert(event) {
  const item = el("li", `alert severity-${event.severity}`);
  item.dataset.eventId = String(event.id);
  if (event.snapshot_url) {
    const img = el("img", "thumb");
    img.src = event.snapshot_url;
    img.alt = `Snapshot of ${event.class_name} on ${event.camera_name}`;
    img.loading = "lazy";
    item.append(img);
  }
  const body = el("div", "body");
  // Each alert opens its event page (the snapshot with why the rule fired). The API's
  // events carry no event_url, the WebSocket's do: both have the id.
  const link = el("a", "rule", event.rule_name);
  link.href = event.event_url || `/events/${Number(event.id)}/`;
  body.append(link);
  body.append(el("span", "camera", event.camera_name));
  body.append(el("span", "what", `${event.class_name} ${(event.confidence * 100).toFixed(0)}%` +
    (event.track_id ? ` · track #${event.track_id}` : "")));
  const time = el("time", "age", age(event.created_at));
  time.dateTime = event.created_at;
  body.append(time);
  body.append(el("span", `badge status-${event.status}`, event.status));
  item.append(body);
  return item;
}

function addAlert(event, { prepend }) {
  if (seen.has(event.id)) return;
  seen.add(event.id);
  const item = renderAlert(event);
  if (prepend) alertsList.prepend(item); else alertsList.append(item);
}

function addNewest(events) {
  // events come newest first; insert oldest first so the newest ends on top
  [...events].reverse().forEach((event) => addAlert(event, { prepend: true }));
}

async function backfill() {
  const response = await fetch("/api/events/?page_size=50", { credentials: "same-origin" });
  if (!response.ok) return;
  const page = await response.json();
  addNewest(page.results);
}

let retry = 0;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
  socket.addEventListener("open", () => {
    retry = 0;
    setState("live", "live");
    backfill().catch(() => {});
  });
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "event") addAlert(data.event, { prepend: true });
  });
  socket.addEventListener("close", (close) => {
    if (close.code === 4401 || close.code === 4403) {
      setState("down", "not allowed: sign in again");
      return;
    }
    const delay = Math.min(30000, 500 * 2 ** retry) * (0.75 + Math.random() / 2);
    retry += 1;
    setState("down", `offline, retrying in ${Math.ceil(delay / 1000)}s`);
    setTimeout(connect, delay);
  });
}

function refreshTiles() {
  document.querySelectorAll(".tile").forEach(async (tile) => {
    const response = await fetch(`${tile.dataset.liveUrl}?t=${Date.now()}`, { credentials: "same-origin" });
    if (response.status !== 200) return;
    const blob = await response.blob();
    const img = tile.querySelector("img");
    const previous = img.src;
    img.src = URL.createObjectURL(blob);
    if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
    img.hidden = false;
    tile.querySelector(".no-frame").hidden = true;
  });
}

async function refreshStatuses() {
  const response = await fetch("/api/cameras/?enabled=true&page_size=100", { credentials: "same-origin" });
  if (!response.ok) return;
  const page = await response.json();
  for (const camera of page.results) {
    const badge = document.querySelector(`.tile[data-camera-id="${camera.id}"] .status`);
    if (!badge) continue;
    badge.className = `status status-${camera.status}`;
    badge.textContent = camera.status;
    badge.title = camera.status_detail || "";
  }
}

addNewest(JSON.parse(document.getElementById("initial-events").textContent));
setInterval(() => {
  document.querySelectorAll("time.age").forEach((t) => { t.textContent = age(t.dateTime); });
}, 10000);
refreshTiles();
setInterval(refreshTiles, 1000);
refreshStatuses();
setInterval(refreshStatuses, 5000);
connect();
