// A searchable class picker (an ARIA combobox): type to filter, arrows to move, Enter picks.

const SHOWN = 12;

/**
 * Classes matching `query`: names starting with it first, then names containing it,
 * each group in the given (most common first) order.
 * @param {string[]} classes
 * @param {string} query
 * @returns {string[]}
 */
export function matching(classes, query) {
  const q = query.trim().toLowerCase();
  if (!q) return classes.slice();
  const starts = classes.filter((name) => name.toLowerCase().startsWith(q));
  const contains = classes.filter((name) => !name.toLowerCase().startsWith(q) && name.toLowerCase().includes(q));
  return [...starts, ...contains];
}

export class ClassPicker {
  /**
   * @param {HTMLInputElement} input
   * @param {HTMLElement} list the listbox
   * @param {string[]} classes
   * @param {(name: string) => void} onPick
   */
  constructor(input, list, classes, onPick) {
    this.input = input;
    this.list = list;
    this.classes = classes;
    this.onPick = onPick;
    /** @type {string[]} */
    this.shown = [];
    this.active = 0;
    input.addEventListener("input", () => this.open());
    input.addEventListener("focus", () => this.open());
    input.addEventListener("blur", () => this.close());
    input.addEventListener("keydown", (e) => this.key(e));
    // mousedown, not click: a click would blur the input (closing the list) before it lands.
    list.addEventListener("mousedown", (e) => {
      const option = /** @type {HTMLElement} */ (e.target).closest("[role=option]");
      if (!option) return;
      e.preventDefault();
      this.pick(option.dataset.class || "");
    });
  }

  focus() {
    this.input.focus();
    this.input.select();
  }

  open() {
    this.shown = matching(this.classes, this.input.value).slice(0, SHOWN);
    this.active = 0;
    this.render();
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  render() {
    this.list.replaceChildren(...this.shown.map((name, i) => {
      const li = document.createElement("li");
      li.id = `class-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === this.active));
      li.dataset.class = name;
      li.textContent = name;
      return li;
    }));
    if (this.shown.length === 0) {
      const li = document.createElement("li");
      li.className = "rv-none";
      li.textContent = "No class matches";
      this.list.append(li);
    }
    if (this.shown.length) this.input.setAttribute("aria-activedescendant", `class-option-${this.active}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!this.shown.length) return;
      const step = e.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.shown.length) % this.shown.length;
      this.render();
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (this.shown.length) this.pick(this.shown[this.active]);
    } else if (e.key === "Escape") {
      e.preventDefault();
      this.input.value = "";
      this.input.blur();
    }
  }

  /** @param {string} name */
  pick(name) {
    if (!this.classes.includes(name)) return;
    this.input.value = "";
    this.input.blur();
    this.onPick(name);
  }
}
