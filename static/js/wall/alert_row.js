// One alert in the feed: snapshot, rule (linking to the event page), camera, object,
// severity, status with who, assignee, escalation, ticking age, and quick actions.

import { actionButton, el, setText } from "./dom.js";
import { OPEN_STATUSES, SEVERITY_LABELS, age, dateTime, eventHref, objectLine, personName, safePath,
  statusLine } from "./format.js";

export class AlertRow {
  /**
   * @param {Record<string, any>} event normalised
   * @param {{canHandle: boolean, user: {id: number}}} options
   */
  constructor(event, { canHandle, user }) {
    this.user = user;
    this.item = /** @type {HTMLLIElement} */ (el("li", "alert"));
    this.item.dataset.eventId = String(event.id);
    const thumbLink = /** @type {HTMLAnchorElement} */ (el("a", "thumb-link"));
    thumbLink.tabIndex = -1; // the rule's link is the one to tab to
    this.thumb = /** @type {HTMLImageElement} */ (el("img", "thumb"));
    this.thumb.loading = "lazy";
    this.thumb.addEventListener("error", () => { thumbLink.hidden = true; }); // deleted by retention, say
    thumbLink.append(this.thumb);
    const body = el("div", "body");
    const head = el("div", "alert-head");
    this.link = /** @type {HTMLAnchorElement} */ (el("a", "rule"));
    this.severity = el("span", "severity-badge");
    head.append(this.link, this.severity);
    this.camera = el("span", "camera");
    this.what = el("span", "what");
    const state = el("div", "alert-state");
    this.status = el("span", "badge");
    this.assignee = el("span", "assignee");
    this.escalation = el("span", "escalation");
    this.age = /** @type {HTMLTimeElement} */ (el("time", "age"));
    state.append(this.status, this.assignee, this.escalation, this.age);
    const where = el("div", "alert-where");
    where.append(this.camera, this.what);
    body.append(head, where, state);
    if (canHandle) {
      this.actions = el("div", "alert-actions");
      this.ack = actionButton("Acknowledge", "acknowledge", "small primary");
      this.resolve = actionButton("Resolve", "resolve", "small");
      this.more = actionButton("Handle…", "handle", "small");
      this.more.setAttribute("aria-haspopup", "dialog");
      this.actions.append(this.ack, this.resolve, this.more);
    }
    this.item.append(thumbLink, body);
    if (this.actions) this.item.append(this.actions);
    this.thumbLink = thumbLink;
    this.update(event);
  }

  /** @param {Record<string, any>} event a newer payload of the same event */
  update(event) {
    this.event = event;
    const item = this.item;
    item.className = `alert severity-${event.severity} status-${event.status}`;
    item.dataset.status = event.status;
    const href = eventHref(event);
    this.link.href = href;
    this.thumbLink.href = href;
    setText(this.link, event.rule_name || "Alert");
    setText(this.severity, SEVERITY_LABELS[event.severity] || event.severity || "");
    this.severity.className = `severity-badge severity-${event.severity}`;
    const snapshot = safePath(event.snapshot_url);
    this.thumbLink.hidden = !snapshot;
    if (snapshot && this.thumb.getAttribute("src") !== snapshot) {
      this.thumb.src = snapshot;
      this.thumb.alt = `Snapshot of ${event.class_name || "the alert"} on ${event.camera_name}`;
    }
    setText(this.camera, event.camera_name || "");
    setText(this.what, objectLine(event));
    setText(this.status, statusLine(event));
    this.status.className = `badge status-badge status-${event.status}`;
    const assignee = event.assigned_to;
    setText(this.assignee, assignee ? `Assigned to ${assignee.id === this.user.id ? "you" : personName(assignee)}` : "");
    this.assignee.hidden = !assignee;
    setText(this.escalation, event.escalation ? `Escalated ×${event.escalation}` : "");
    this.escalation.hidden = !event.escalation;
    this.age.dateTime = event.created_at;
    this.age.title = dateTime(event.created_at);
    this.tick();
    if (this.actions) {
      const open = OPEN_STATUSES.includes(event.status);
      this.ack.hidden = event.status !== "new";
      this.resolve.hidden = !open;
    }
  }

  tick(now = Date.now()) {
    setText(this.age, age(this.event.created_at, now));
  }

  /** Buttons off while one of this row's actions is being saved. */
  setBusy(busy) {
    this.item.querySelectorAll("button").forEach((button) => { button.disabled = busy; });
  }
}
