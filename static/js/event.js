// The event page: draws the evidence over the snapshot and lists what was drawn.
// Every value from the server is written with textContent, never as HTML.

import { drawEvidence } from "./evidence.js";

const data = JSON.parse(document.getElementById("event-drawing").textContent);
const canvas = document.getElementById("evidence-canvas");
const legend = document.getElementById("evidence-legend");
const note = document.getElementById("evidence-note");

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
