// Plain-text formatting shared by the wall, the alert feed and the event page.
// Everything here returns strings for textContent: nothing is ever parsed as HTML.

export const SEVERITY_LABELS = { info: "Info", warning: "Warning", critical: "Critical" };
export const STATUS_LABELS = {
  new: "New", acknowledged: "Acknowledged", resolved: "Resolved", dismissed: "False alarm",
};
export const OPEN_STATUSES = ["new", "acknowledged"];

/**
 * An event as the feed keeps it. The WebSocket sends `camera_id` / `rule_id`, the REST API
 * `camera` / `rule` (and no top-level box): both shapes become one.
 * @param {Record<string, any>} raw an EventPayload (events/publisher.py) or an API event
 * @returns {Record<string, any>}
 */
export function normalizeEvent(raw) {
  const event = { ...raw };
  if (event.camera_id === undefined) event.camera_id = event.camera;
  if (event.rule_id === undefined) event.rule_id = event.rule ?? null;
  return event;
}

/** @param {string|null|undefined} iso @returns {number} epoch ms, NaN when missing */
export const millis = (iso) => (iso ? Date.parse(iso) : NaN);

/**
 * Whether `candidate` is at least as recent as `current` (by `updated_at`): a payload that
 * was overtaken (a slow back-fill page arriving after a live update) must not undo it.
 */
export function isAtLeastAsNew(candidate, current) {
  const a = millis(candidate.updated_at);
  const b = millis(current.updated_at);
  return Number.isNaN(a) || Number.isNaN(b) || a >= b;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function age(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - millis(iso)) / 1000));
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** Local wall-clock time of an ISO timestamp (or epoch seconds), e.g. 14:03:07. */
export function clock(value) {
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString([], { hour12: false });
}

/** Local date and time, e.g. 2024-05-01 14:03:07. */
export function dateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock(iso)}`;
}

/** @param {{name?: string, username?: string}|null|undefined} ref a UserRef */
export const personName = (ref) => (ref ? ref.name || ref.username || "" : "");

/** "Acknowledged by Olivia", "Resolved by Bob", "New". */
export function statusLine(event) {
  const label = STATUS_LABELS[event.status] || String(event.status || "");
  if (event.status === "acknowledged" && event.acknowledged_by) return `${label} by ${personName(event.acknowledged_by)}`;
  if ((event.status === "resolved" || event.status === "dismissed") && event.resolved_by) {
    return `${label} by ${personName(event.resolved_by)}`;
  }
  return label;
}

/** "person 87% · track #12" */
export function objectLine(event) {
  const parts = [];
  if (event.class_name) parts.push(`${event.class_name} ${Math.round((Number(event.confidence) || 0) * 100)}%`);
  if (event.track_id !== null && event.track_id !== undefined) parts.push(`track #${event.track_id}`);
  return parts.join(" · ");
}

const ACTION_TEXT = {
  acknowledge: "acknowledged",
  assign: "assigned it",
  unassign: "unassigned it",
  note: "added a note",
  escalate: "escalated it",
  resolve: "resolved it",
  dismiss: "dismissed it as a false alarm",
  reopen: "reopened it",
};

/**
 * One history line: "Olivia assigned it to Bob", "Olivia escalated it (level 2)".
 * @param {Record<string, any>} action an ActionPayload (events/publisher.py)
 */
export function actionSentence(action) {
  const who = personName(action.user) || action.user_name || "Someone";
  if (action.action === "assign" && action.user && action.assignee && action.user.id === action.assignee.id) {
    return `${who} took it on`;
  }
  let text = `${who} ${ACTION_TEXT[action.action] || action.action}`;
  const assignee = personName(action.assignee) || action.assignee_name;
  if ((action.action === "assign" || action.action === "escalate") && assignee) text += ` to ${assignee}`;
  if (action.action === "escalate") text += ` (level ${action.escalation})`;
  return text;
}

/**
 * A same-origin path from the server, or "" (never a `javascript:` or foreign URL).
 * @param {unknown} value
 */
export function safePath(value) {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") ? value : "";
}

/** The event page of an event: the payload's `event_url`, else built from its id. */
export function eventHref(event) {
  return safePath(event.event_url) || `/events/${Number(event.id)}/`;
}
