// The feed's "Handle…" dialog: every handling action for one alert and its history, live.

import { el, setText } from "./dom.js";
import { eventHref, objectLine } from "./format.js";
import { HandlingPanel } from "./handling.js";
import { HistoryList } from "./history.js";

export class HandleDialog {
  /**
   * @param {HTMLDialogElement} dialog an empty <dialog>
   * @param {{canHandle: boolean, user: {id: number}, onHandled: (event: Record<string, any>) => void}} options
   */
  constructor(dialog, { canHandle, user, onHandled }) {
    this.dialog = dialog;
    /** @type {number|null} */
    this.eventId = null;
    this.title = el("h2", "dialog-title");
    this.title.id = "handle-dialog-title";
    dialog.setAttribute("aria-labelledby", this.title.id);
    this.subtitle = el("p", "dialog-subtitle");
    this.link = /** @type {HTMLAnchorElement} */ (el("a", "dialog-link", "Open the event page (clip, evidence)"));
    const close = /** @type {HTMLButtonElement} */ (el("button", "dialog-close link", "Close"));
    close.type = "button";
    close.addEventListener("click", () => dialog.close());
    const head = el("header", "dialog-head");
    head.append(this.title, close);
    const panel = el("div");
    this.panel = new HandlingPanel(panel, {
      canHandle, user,
      onHandled: (event) => {
        onHandled(event);
        this.history.reload(event.id); // our own action, even if the socket is down right now
      },
    });
    const historyTitle = el("h3", "", "History");
    const list = /** @type {HTMLOListElement} */ (el("ol", "history"));
    const empty = el("p", "empty", "Nobody has handled this alert yet.");
    this.history = new HistoryList(list, empty);
    dialog.replaceChildren(head, this.subtitle, this.link, panel, historyTitle, list, empty);
    dialog.addEventListener("close", () => { this.eventId = null; });
  }

  /** @param {Record<string, any>} event */
  open(event) {
    this.eventId = event.id;
    setText(this.title, event.rule_name || "Alert");
    setText(this.subtitle, [event.camera_name, objectLine(event)].filter(Boolean).join(" · "));
    this.link.href = eventHref(event);
    this.history.set([]);
    this.panel.show(event);
    if (!this.dialog.open) this.dialog.showModal();
    this.history.reload(event.id);
  }

  /** A newer payload (and the action that made it, if any) of any alert. */
  update(event, action) {
    if (event.id !== this.eventId) return;
    this.panel.update(event);
    if (action) this.history.add(action);
  }
}
