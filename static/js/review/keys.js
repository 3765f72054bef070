// The review screen's keyboard map: one table drives both the key handling and the help overlay.

/** @typedef {{keys: string[], action: string|null, help: string}} Binding */

/** @type {Binding[]} */
export const KEYMAP = [
  { keys: ["C", "Enter"], action: "confirm", help: "Confirm: the detection is right (Enter saves an adjusted box instead)" },
  { keys: ["X", "Delete"], action: "reject", help: "Reject as a false positive" },
  { keys: ["1", "…", "9"], action: null, help: "Relabel to the numbered class (or name the missed object being added)" },
  { keys: ["L", "/"], action: "pick", help: "Search all classes; Enter relabels to the highlighted one" },
  { keys: ["J", "↓", "→"], action: "next", help: "Next item" },
  { keys: ["K", "↑", "←"], action: "previous", help: "Previous item" },
  { keys: ["Z", "Ctrl+Z"], action: "undo", help: "Undo your last correction" },
  { keys: ["Drag"], action: null, help: "Drag the box's corners or edges (or its inside) to adjust it; Enter saves" },
  { keys: ["B"], action: "missed", help: "Draw a box around an object the detector missed, then pick its class" },
  { keys: ["N"], action: "note", help: "Write a note, sent with the next correction (Esc leaves the field)" },
  { keys: ["S"], action: "similar", help: "Find similar detections across cameras and time" },
  { keys: ["F"], action: "filters", help: "Go to the queue filters" },
  { keys: ["Esc"], action: "cancel", help: "Cancel drawing, reset an adjusted box, leave a field" },
  { keys: ["?"], action: "help", help: "Show or hide this help" },
];

/** @type {Record<string, string>} KeyboardEvent.key (lower case) → action */
const BY_KEY = {
  c: "confirm", enter: "enter", x: "reject", delete: "reject", l: "pick", "/": "pick",
  j: "next", arrowdown: "next", arrowright: "next", k: "previous", arrowup: "previous", arrowleft: "previous",
  z: "undo", b: "missed", n: "note", s: "similar", f: "filters", escape: "cancel", "?": "help",
};

/**
 * The action a key press asks for: a name from BY_KEY, "class:<1-9>", or null (not ours:
 * the browser keeps it, so Ctrl+C, Ctrl+L and the like still work).
 * @param {KeyboardEvent} e
 * @returns {string|null}
 */
export function actionFor(e) {
  if (e.altKey || e.isComposing) return null;
  if (e.ctrlKey || e.metaKey) return e.key.toLowerCase() === "z" && !e.shiftKey ? "undo" : null;
  if (/^[1-9]$/.test(e.key)) return `class:${e.key}`;
  return BY_KEY[e.key.toLowerCase()] ?? null;
}

/**
 * Fill the help overlay's table from KEYMAP.
 * @param {HTMLElement} tbody
 */
export function renderHelp(tbody) {
  tbody.replaceChildren(...KEYMAP.map(({ keys, help }) => {
    const row = document.createElement("tr");
    const keyCell = document.createElement("th");
    keyCell.scope = "row";
    keys.forEach((key, i) => {
      if (i > 0) keyCell.append(key === "…" || keys[i - 1] === "…" ? " " : " / ");
      if (key === "…") keyCell.append("…");
      else {
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        keyCell.append(kbd);
      }
    });
    const text = document.createElement("td");
    text.textContent = help;
    row.append(keyCell, text);
    return row;
  }));
}
