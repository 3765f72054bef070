// Picking many tiles of a grid: click toggles one, Shift+click selects the range from the
// last clicked tile, "all" and "none". Ids only; the grid renders from it.

export class Selection {
  constructor() {
    /** @type {number[]} the grid's ids in display order */
    this.order = [];
    /** @type {Set<number>} */
    this.selected = new Set();
    /** @type {number|null} the last clicked id, where a Shift+click range starts */
    this.anchor = null;
  }

  /** A new grid: keep only selected ids still shown. @param {number[]} ids */
  setOrder(ids) {
    this.order = ids;
    const shown = new Set(ids);
    this.selected = new Set([...this.selected].filter((id) => shown.has(id)));
    if (this.anchor !== null && !shown.has(this.anchor)) this.anchor = null;
  }

  /**
   * @param {number} id
   * @param {{range?: boolean}} [how] range: select everything from the anchor to `id`
   */
  click(id, { range = false } = {}) {
    const to = this.order.indexOf(id);
    if (to < 0) return;
    const from = this.anchor === null ? -1 : this.order.indexOf(this.anchor);
    if (range && from >= 0) {
      const [low, high] = from <= to ? [from, to] : [to, from];
      for (const picked of this.order.slice(low, high + 1)) this.selected.add(picked);
    } else if (this.selected.has(id)) {
      this.selected.delete(id);
    } else {
      this.selected.add(id);
    }
    this.anchor = id;
  }

  all() {
    this.selected = new Set(this.order);
  }

  none() {
    this.selected.clear();
    this.anchor = null;
  }

  /** @returns {number[]} selected ids in display order */
  ids() {
    return this.order.filter((id) => this.selected.has(id));
  }
}
