// Handling an alert (events/handling.py): acknowledge, assign, note, escalate, resolve,
// dismiss as a false alarm, reopen. Used by the feed's rows, its "Handle" dialog and the
// event page. Every operator's actions reach the others as "event.updated" messages.

import { api, messages } from "../configure/api.js";
import { actionButton, el, setText } from "./dom.js";
import { OPEN_STATUSES, normalizeEvent, personName, statusLine } from "./format.js";

/**
 * POST one action. Never throws: `message` says what went wrong in plain words (a 409 for a
 * transition that does not apply, "reopen it first").
 * @param {number} eventId
 * @param {string} action acknowledge | assign | note | escalate | resolve | dismiss | reopen
 * @param {object} [body] {note}, {assignee}
 * @returns {Promise<{ok: true, event: Record<string, any>}|{ok: false, message: string}>}
 */
export async function act(eventId, action, body = {}) {
  const result = await api("POST", `/api/events/${Number(eventId)}/${action}/`, body);
  if (result.ok) return { ok: true, event: normalizeEvent(result.data) };
  return { ok: false, message: messages(result.data).join(" ") || `The server answered ${result.status}.` };
}

/** @param {number} eventId @returns {Promise<Array<{id: number, username: string, name: string}>>} */
async function assigneesOf(eventId) {
  const result = await api("GET", `/api/events/${Number(eventId)}/assignees/`);
  return result.ok && Array.isArray(result.data) ? result.data : [];
}

const DONE = {
  acknowledge: "Acknowledged.", assign: "Assigned.", note: "Note added.", escalate: "Escalated.",
  resolve: "Resolved.", dismiss: "Dismissed as a false alarm.", reopen: "Reopened.",
};

export class HandlingPanel {
  /**
   * @param {HTMLElement} root an empty element
   * @param {{canHandle: boolean, user: {id: number}, onHandled: (event: Record<string, any>) => void}} options
   */
  constructor(root, { canHandle, user, onHandled }) {
    this.root = root;
    this.user = user;
    this.onHandled = onHandled;
    /** @type {Record<string, any>|null} */
    this.event = null;
    this.busy = false;
    root.classList.add("handling");
    this.state = el("p", "handling-state");
    this.message = el("p", "handling-message");
    this.message.setAttribute("role", "status");
    if (!canHandle) {
      root.replaceChildren(this.state, el("p", "help", "You may look at alerts but not handle them."));
      this.buttons = [];
      return;
    }
    this.actions = el("div", "handling-actions");
    this.actions.setAttribute("role", "group");
    this.actions.setAttribute("aria-label", "Handle this alert");
    this.ackButton = actionButton("Acknowledge", "acknowledge", "primary");
    this.mineButton = actionButton("Assign to me", "assign-me");
    this.escalateButton = actionButton("Escalate", "escalate");
    this.resolveButton = actionButton("Resolve", "resolve");
    this.dismissButton = actionButton("Dismiss as false alarm", "dismiss", "danger");
    this.reopenButton = actionButton("Reopen", "reopen");
    this.actions.append(this.ackButton, this.mineButton, this.escalateButton, this.resolveButton, this.dismissButton,
      this.reopenButton);

    const assign = el("div", "handling-assign");
    const assignId = `assign-${Math.random().toString(36).slice(2)}`;
    const assignLabel = el("label", "", "Assign to");
    assignLabel.setAttribute("for", assignId);
    this.assignee = /** @type {HTMLSelectElement} */ (el("select"));
    this.assignee.id = assignId;
    this.assignee.name = "assignee";
    this.assignButton = actionButton("Assign", "assign");
    assign.append(assignLabel, this.assignee, this.assignButton);

    const note = el("div", "handling-note");
    const noteId = `note-${Math.random().toString(36).slice(2)}`;
    const noteLabel = el("label", "", "Note");
    noteLabel.setAttribute("for", noteId);
    this.note = /** @type {HTMLTextAreaElement} */ (el("textarea"));
    this.note.id = noteId;
    this.note.name = "note";
    this.note.rows = 2;
    this.note.maxLength = 2000;
    this.note.placeholder = "What you saw, what you did";
    this.noteButton = actionButton("Add note", "note");
    const noteHelp = el("p", "help", "A typed note also goes with Escalate, Resolve, Dismiss and Reopen.");
    note.append(noteLabel, this.note, this.noteButton, noteHelp);

    this.buttons = [this.ackButton, this.mineButton, this.escalateButton, this.resolveButton, this.dismissButton,
      this.reopenButton, this.assignButton, this.noteButton];
    root.replaceChildren(this.state, this.actions, assign, note, this.message);
    root.addEventListener("click", (e) => {
      const button = /** @type {HTMLElement} */ (e.target).closest("button[data-action]");
      if (button && root.contains(button)) this.run(/** @type {HTMLElement} */ (button).dataset.action || "");
    });
  }

  /** Show another event (or the same one again): forgets the typed note and the message. */
  show(event) {
    const other = !this.event || this.event.id !== event.id;
    this.event = event;
    if (other && this.note) {
      this.note.value = "";
      setText(this.message, "");
      this.assignee.replaceChildren(new Option("Nobody", ""));
      this.loadAssignees(event.id);
    }
    this.update(event);
  }

  async loadAssignees(eventId) {
    const people = await assigneesOf(eventId);
    if (!this.event || this.event.id !== eventId) return;
    const options = [new Option("Nobody", "")];
    people.forEach((person) => options.push(new Option(person.id === this.user.id ? `${person.name} (me)` : person.name,
      String(person.id))));
    this.assignee.replaceChildren(...options);
    this.update(this.event);
  }

  /** A newer payload of the shown event: buttons follow its status. */
  update(event) {
    if (!this.event || event.id !== this.event.id) return;
    this.event = event;
    const assigned = event.assigned_to ? ` · assigned to ${personName(event.assigned_to)}` : "";
    const escalated = event.escalation ? ` · escalated ×${event.escalation}` : "";
    setText(this.state, `${statusLine(event)}${assigned}${escalated}`);
    this.root.dataset.status = event.status;
    if (!this.note) return;
    const open = OPEN_STATUSES.includes(event.status);
    const mine = event.assigned_to && event.assigned_to.id === this.user.id;
    this.ackButton.disabled = this.busy || event.status !== "new";
    this.mineButton.disabled = this.busy || !open || Boolean(mine);
    for (const button of [this.escalateButton, this.resolveButton, this.dismissButton, this.assignButton]) {
      button.disabled = this.busy || !open;
    }
    this.assignee.disabled = this.busy || !open;
    this.reopenButton.hidden = open;
    this.reopenButton.disabled = this.busy;
    this.noteButton.disabled = this.busy;
    if (document.activeElement !== this.assignee) this.assignee.value = event.assigned_to ? String(event.assigned_to.id) : "";
  }

  /** @param {string} name */
  async run(name) {
    if (!this.event || this.busy) return;
    const note = this.note.value.trim();
    let action = name;
    /** @type {Record<string, any>} */
    let body = {};
    if (name === "assign-me") {
      action = "assign";
      body = { assignee: this.user.id };
    } else if (name === "assign") {
      body = { assignee: this.assignee.value ? Number(this.assignee.value) : null };
    } else if (name === "note") {
      if (!note) {
        setText(this.message, "Type the note first.");
        this.note.focus();
        return;
      }
      body = { note };
    } else if (["escalate", "resolve", "dismiss", "reopen"].includes(name) && note) {
      body = { note };
    }
    this.busy = true;
    this.update(this.event);
    setText(this.message, "Saving…");
    const result = await act(this.event.id, action, body);
    this.busy = false;
    if (result.ok) {
      if ("note" in body) this.note.value = "";
      setText(this.message, DONE[action] || "Done.");
      this.onHandled(result.event);
    } else {
      setText(this.message, result.message);
    }
    this.update(this.event);
  }
}
