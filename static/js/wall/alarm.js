// Calling attention to critical alerts: a beep (WebAudio) and a browser notification, both
// opt-in. The choices are kept in localStorage; notifications need the browser's permission,
// asked for only when the operator presses the button.

const SOUND_KEY = "vigil.alarm.sound";
const NOTIFY_KEY = "vigil.alarm.notify";

export class Alarm {
  /**
   * @param {HTMLInputElement} soundToggle a checkbox
   * @param {HTMLButtonElement} notifyButton
   */
  constructor(soundToggle, notifyButton) {
    this.soundToggle = soundToggle;
    this.notifyButton = notifyButton;
    /** @type {AudioContext|null} */
    this.audio = null;
    soundToggle.checked = localStorage.getItem(SOUND_KEY) === "on";
    soundToggle.addEventListener("change", () => {
      localStorage.setItem(SOUND_KEY, soundToggle.checked ? "on" : "off");
      if (soundToggle.checked) this.beep(); // also unlocks audio: this runs in the click's gesture
    });
    notifyButton.addEventListener("click", () => this.toggleNotifications());
    this.renderNotify();
  }

  get notifying() {
    return "Notification" in window && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "on";
  }

  async toggleNotifications() {
    if (!("Notification" in window)) return;
    if (this.notifying) {
      localStorage.setItem(NOTIFY_KEY, "off");
    } else {
      const permission = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
      localStorage.setItem(NOTIFY_KEY, permission === "granted" ? "on" : "off");
    }
    this.renderNotify();
  }

  renderNotify() {
    const button = this.notifyButton;
    if (!("Notification" in window)) {
      button.textContent = "Notifications unsupported";
      button.disabled = true;
    } else if (Notification.permission === "denied") {
      button.textContent = "Notifications blocked";
      button.title = "The browser blocks notifications for this site: allow them in its site settings.";
      button.disabled = true;
    } else {
      button.textContent = this.notifying ? "Notifications on" : "Notify me";
      button.setAttribute("aria-pressed", String(this.notifying));
      button.disabled = false;
    }
  }

  /** Two short tones; quiet enough not to startle, distinct enough to hear across a room. */
  beep() {
    try {
      this.audio ??= new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume();
      const start = this.audio.currentTime + 0.02;
      [0, 0.22].forEach((offset, i) => {
        const oscillator = this.audio.createOscillator();
        const gain = this.audio.createGain();
        oscillator.type = "sine";
        oscillator.frequency.value = i ? 660 : 880;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
        oscillator.connect(gain).connect(this.audio.destination);
        oscillator.start(start + offset);
        oscillator.stop(start + offset + 0.2);
      });
      document.body.dataset.beeps = String((Number(document.body.dataset.beeps) || 0) + 1);
    } catch {
      // no audio device, or autoplay refused before any click: the feed still shows the alert
    }
  }

  /**
   * Critical alerts that just arrived (live, or back-filled after a reconnect).
   * @param {Array<Record<string, any>>} events
   */
  critical(events) {
    const urgent = events.filter((event) => event.severity === "critical" && event.status === "new");
    if (!urgent.length) return;
    if (this.soundToggle.checked) this.beep();
    if (!this.notifying) return;
    const [first] = urgent;
    const title = urgent.length === 1 ? `Critical: ${first.rule_name} on ${first.camera_name}` : `${urgent.length} critical alerts`;
    const body = urgent.length === 1 ? `${first.class_name || "Alert"} · ${new Date(first.created_at).toLocaleTimeString()}`
      : urgent.map((event) => `${event.rule_name} on ${event.camera_name}`).slice(0, 4).join("\n");
    try {
      // Notification text is plain text by specification: no HTML is interpreted.
      const notification = new Notification(title, { body, tag: `vigil-${first.id}` });
      notification.addEventListener("click", () => {
        window.focus();
        notification.close();
      });
    } catch {
      // some browsers allow notifications only from a service worker: the feed still shows it
    }
  }
}
