// The operator's page: the live wall (static/js/wall/wall.js) and the alert feed beside it,
// with handling, filters, opt-in sound and notifications, and a banner whenever it is not
// live. Every value from the server is written with textContent, never as HTML.

import { api, setCsrfToken } from "./configure/api.js";
import { Alarm } from "./wall/alarm.js";
import { ConnectionBanner } from "./wall/banner.js";
import { jsonScript } from "./wall/dom.js";
import { EventStream } from "./wall/event_stream.js";
import { AlertFeed } from "./wall/feed.js";
import { FeedFilters } from "./wall/filters.js";
import { normalizeEvent } from "./wall/format.js";
import { HandleDialog } from "./wall/handle_dialog.js";
import { act } from "./wall/handling.js";
import { LiveClient } from "./wall/live.js";
import { ReconnectingSocket } from "./wall/socket.js";
import { LiveWall } from "./wall/wall.js";

const $ = (id) => /** @type {any} */ (document.getElementById(id));
const root = $("operator-wall");
setCsrfToken(root.dataset.csrf);
const config = jsonScript("wall-config");
const options = { canHandle: Boolean(config.can_handle), user: config.user };

// --- the wall ---------------------------------------------------------------------------------
const live = new LiveClient();
const wall = new LiveWall({
  grid: $("wall"), layouts: $("wall-layouts"), prev: $("wall-prev"), next: $("wall-next"), pageText: $("wall-page"),
  back: $("wall-back"), empty: $("wall-empty"),
}, config.cameras.filter((camera) => camera.enabled), live);

// --- the feed ---------------------------------------------------------------------------------
const filters = new FeedFilters($("feed-filters"));
const feed = new AlertFeed($("alerts"), { filters, ...options, empty: $("feed-empty"), count: $("feed-count") });
const alarm = new Alarm($("alarm-sound"), $("alarm-notify"));
const dialog = new HandleDialog($("handle-dialog"), { ...options, onHandled: (event) => feed.upsert(event) });
const message = $("feed-message");
let quiet = 0;
/** A line above the feed, cleared after a while. @param {string} text */
function say(text) {
  message.textContent = text;
  clearTimeout(quiet);
  quiet = window.setTimeout(() => { message.textContent = ""; }, 30000);
}
const eventsSocket = new ReconnectingSocket("/ws/events/");
const stream = new EventStream(eventsSocket, { lastId: Number(config.last_id) || 0, params: () => filters.params() });

(jsonScript("initial-events") || []).forEach((event) => {
  feed.upsert(event);
  stream.saw(event);
});

/** Critical alerts back-filled by one reconnect: one beep and one notification for all. */
let missedCritical = [];
stream.addEventListener("created", (e) => {
  const { event, source } = /** @type {CustomEvent} */ (e).detail;
  const added = feed.upsert(event) === "added";
  if (!added) return;
  if (source === "live") alarm.critical([normalizeEvent(event)]);
  else missedCritical.push(normalizeEvent(event));
});
let syncs = 0;
let filledIn = 0;
stream.addEventListener("synced", (e) => {
  const { created } = /** @type {CustomEvent} */ (e).detail;
  // For people (the message) and for the browser test (the counters).
  syncs += 1;
  filledIn += created;
  root.dataset.syncs = String(syncs);
  root.dataset.filledIn = String(filledIn);
  if (created && syncs > 1) say(`Filled in ${created} alert${created === 1 ? "" : "s"} raised while not live.`);
  alarm.critical(missedCritical);
  missedCritical = [];
});
stream.addEventListener("updated", (e) => {
  const { event, action } = /** @type {CustomEvent} */ (e).detail;
  if (feed.upsert(event) !== "stale") dialog.update(normalizeEvent(event), action);
  else if (action) dialog.update(feed.get(event.id), action); // an older payload may still bring a history line
});
stream.addEventListener("camera", (e) => refreshCamera(/** @type {CustomEvent} */ (e).detail));

/** A camera was added, changed, removed, or became (in)visible to this user. */
async function refreshCamera(id) {
  const result = await api("GET", `/api/cameras/${Number(id)}/`);
  if (result.ok && result.data.enabled) wall.addCamera({ id: result.data.id, name: result.data.name });
  else if (result.ok || result.status === 404) wall.removeCamera(id);
  wall.render();
}

/** After a reconnect: the "camera" messages sent meanwhile are lost, so compare the whole list. */
async function reconcileCameras() {
  const found = [];
  for (let url = "/api/cameras/?enabled=true"; url;) {
    const result = await api("GET", url);
    if (!result.ok) return;
    found.push(...result.data.results);
    url = result.data.next ? new URL(result.data.next).pathname + new URL(result.data.next).search : "";
  }
  const ids = new Set(found.map((camera) => camera.id));
  [...wall.tiles.keys()].filter((id) => !ids.has(id)).forEach((id) => wall.removeCamera(id));
  found.forEach((camera) => wall.addCamera({ id: camera.id, name: camera.name }));
  wall.render();
}
let eventsOpened = 0;
eventsSocket.addEventListener("open", () => {
  if (++eventsOpened > 1) reconcileCameras();
});

// Quick actions on a row; "Handle…" opens the dialog with all of them and the history.
$("alerts").addEventListener("click", async (e) => {
  const button = /** @type {HTMLElement} */ (e.target).closest("button[data-action]");
  const item = button?.closest("[data-event-id]");
  if (!button || !item) return;
  const event = feed.get(Number(item.dataset.eventId));
  if (!event) return;
  const action = button.dataset.action;
  if (action === "handle") {
    dialog.open(event);
    return;
  }
  const row = feed.rows.get(event.id);
  row?.setBusy(true);
  const result = await act(event.id, action);
  row?.setBusy(false);
  if (result.ok) {
    feed.upsert(result.event);
    message.textContent = "";
  } else {
    say(`${event.rule_name} on ${event.camera_name}: ${result.message}`);
  }
});

// Filters: at once on what the page holds, then the newest matching alerts from the server.
let reloads = 0;
filters.addEventListener("change", async () => {
  feed.applyFilters();
  const mine = ++reloads;
  const params = filters.params();
  params.set("page_size", "50");
  const result = await api("GET", `/api/events/?${params}`);
  if (mine !== reloads || !result.ok) return;
  result.data.results.forEach((event) => feed.upsert(event));
});

new ConnectionBanner($("conn-banner"), [
  { socket: eventsSocket, what: "Alerts" },
  { socket: live.socket, what: "Live video" },
], { liveState: $("live-state") });

eventsSocket.start();
live.start();
