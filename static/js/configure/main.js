// The camera's Configure page: the region editor over the picture, and the rules.
// Server data arrives as JSON in a <script type="application/json"> (json_script), never as HTML.

import { setCsrfToken } from "./api.js";
import { RegionEditor } from "./region_editor.js";
import { RulesPanel } from "./rules_form.js";

const root = document.getElementById("configure");
const data = JSON.parse(document.getElementById("configure-data").textContent);
setCsrfToken(root.dataset.csrf);

const editor = new RegionEditor({
  root: root.querySelector("[data-region-editor]"), camera: data.camera, regions: data.regions, urls: data.urls,
});
const rules = new RulesPanel({ root: root.querySelector("[data-rules]"), data, editor });
editor.loadPicture();

window.addEventListener("beforeunload", (event) => {
  if (editor.hasUnsavedChanges()) event.preventDefault();
});

// For the browser tests and the curious: the page's state, read-only use only.
root.vigil = { editor, rules };
