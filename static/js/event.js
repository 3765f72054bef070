// The event page: the evidence drawn over the snapshot, the clip, handling and the history,
// kept live over /ws/events/ (every operator's actions, the clip becoming ready).
// Every value from the server is written with textContent, never as HTML.

import { api, setCsrfToken } from "./configure/api.js";
import { drawEvidence } from "./evidence.js";
import { ConnectionBanner } from "./wall/banner.js";
import { ClipPlayer } from "./wall/clip.js";
import { jsonScript, setText } from "./wall/dom.js";
import { STATUS_LABELS, dateTime, isAtLeastAsNew, normalizeEvent, personName, statusLine } from "./wall/format.js";
import { HandlingPanel } from "./wall/handling.js";
import { HistoryList } from "./wall/history.js";
import { ReconnectingSocket } from "./wall/socket.js";

const $ = (id) => /** @type {any} */ (document.getElementById(id));

// --- evidence -----------------------------------------------------------------------------------
const data = jsonScript("event-drawing");
const canvas = $("evidence-canvas");
const legend = $("evidence-legend");
const note = $("evidence-note");

/** @param {HTMLImageElement|null} image */
function render(image) {
  if (!image) {
    const [width, height] = Array.isArray(data.frame_size) && data.frame_size.length === 2 ? data.frame_size : [1280, 720];
    canvas.width = width;
    canvas.height = height;
  }
  const items = drawEvidence(canvas, image, data.evidence, data.box);
  legend.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.dataset.kind = item.kind;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = item.color;
    li.append(swatch, document.createTextNode(item.label));
    return li;
  }));
  canvas.dataset.drawn = String(items.length);
}

if (data.snapshot_url) {
  const image = new Image();
  image.addEventListener("load", () => render(image));
  image.addEventListener("error", () => {
    note.textContent = "The snapshot could not be loaded: the evidence is drawn on a blank picture.";
    note.hidden = false;
    render(null);
  });
  image.src = data.snapshot_url;
} else {
  note.textContent = "No snapshot was stored for this event: the evidence is drawn on a blank picture.";
  note.hidden = false;
  render(null);
}

// --- clip, handling, history, live --------------------------------------------------------------
const live = jsonScript("event-live");
setCsrfToken($("handling-card").dataset.csrf);
let current = normalizeEvent(live.event);
const history = new HistoryList($("history"), $("history-empty"));
history.set(live.history);
const clip = new ClipPlayer($("clip"), $("clip-body"));
const panel = new HandlingPanel($("handling"), {
  canHandle: Boolean(live.can_handle),
  user: live.user,
  onHandled: (event) => {
    apply(event, null);
    history.reload(event.id); // our own action shows even while the socket is down
  },
});
panel.show(current);
clip.update(current);

/** The facts that handling changes, next to the ones that never change. */
function renderFacts(event) {
  const badge = $("event-status");
  setText(badge, STATUS_LABELS[event.status] || event.status);
  badge.className = `badge status-badge status-${event.status}`;
  const when = event.status === "acknowledged" ? event.acknowledged_at : event.resolved_at;
  setText($("event-status-line"), `${statusLine(event)}${when && event.status !== "new" ? ` at ${dateTime(when)}` : ""}`);
  setText($("event-assignee"), event.assigned_to ? personName(event.assigned_to) : "nobody");
  setText($("event-escalation"), event.escalation ? `escalated ×${event.escalation}` : "none");
}

/**
 * A payload of this event from the socket or the API, and the action that made it.
 * @param {Record<string, any>} raw
 * @param {Record<string, any>|null} action
 */
function apply(raw, action) {
  const event = normalizeEvent(raw);
  if (event.id !== current.id) return;
  if (action) history.add(action);
  if (!isAtLeastAsNew(event, current)) return;
  current = event;
  panel.update(event);
  clip.update(event);
  renderFacts(event);
}

renderFacts(current); // the same words as after a live update (full names, local time)

const socket = new ReconnectingSocket("/ws/events/");
socket.addEventListener("message", (e) => {
  const message = /** @type {CustomEvent} */ (e).detail;
  if (message.type === "event.updated") apply(message.event, message.action);
});
// Whatever happened while the socket was away (or before it first opened): read it again.
socket.addEventListener("open", async () => {
  const result = await api("GET", `/api/events/${Number(current.id)}/`);
  if (result.ok) apply(result.data, null);
  await history.reload(current.id);
});
new ConnectionBanner($("conn-banner"), [{ socket, what: "Updates to this alert" }]);
socket.start();
