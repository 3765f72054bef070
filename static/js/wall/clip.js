// The event's clip: a <video> once it is ready, "Recording…" while the worker records it
// (the page is told over the socket when that changes), or why there is none.

import { el, setText } from "./dom.js";
import { safePath } from "./format.js";

export class ClipPlayer {
  /** @param {HTMLElement} section gets data-state = clip_status @param {HTMLElement} body */
  constructor(section, body) {
    this.section = section;
    this.body = body;
    this.src = "";
    this.state = "";
  }

  /** @param {Record<string, any>} event */
  update(event) {
    const state = String(event.clip_status || "none");
    const url = safePath(event.clip_url);
    if (state === this.state && (state !== "ready" || url === this.src)) return;
    this.state = state;
    this.section.dataset.state = state;
    if (state === "ready" && url) {
      this.src = url;
      const video = /** @type {HTMLVideoElement} */ (el("video", "clip-video"));
      video.controls = true;
      video.preload = "metadata";
      video.playsInline = true;
      video.src = url;
      video.setAttribute("aria-label", "Clip of the seconds around the event");
      const download = /** @type {HTMLAnchorElement} */ (el("a", "clip-download", "Download the clip"));
      download.href = url;
      download.download = "";
      this.body.replaceChildren(video, download);
      return;
    }
    this.src = "";
    const note = el("p", `clip-note clip-${state}`);
    if (state === "pending") setText(note, "Recording… the clip appears here as soon as it is ready.");
    else if (state === "failed") setText(note, `No clip: ${event.clip_detail || "recording it failed."}`);
    else setText(note, `No clip${event.clip_detail ? `: ${event.clip_detail}` : " for this event."}`);
    this.body.replaceChildren(note);
  }
}
