// A review page's status line and error box. Text only: nothing from the server becomes HTML.

export class Notice {
  /** @param {string} statusId @param {string} errorId */
  constructor(statusId, errorId) {
    this.statusLine = /** @type {HTMLElement} */ (document.getElementById(statusId));
    this.errorBox = /** @type {HTMLElement} */ (document.getElementById(errorId));
  }

  /** @param {string} text */
  status(text) {
    this.statusLine.textContent = text;
  }

  /** @param {string} text */
  error(text) {
    this.errorBox.textContent = text;
    this.errorBox.hidden = false;
  }

  clearError() {
    this.errorBox.textContent = "";
    this.errorBox.hidden = true;
  }
}
