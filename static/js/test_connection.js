// "Test connection" on the camera forms: asks the server to open the typed stream URL
// and shows the first picture, or why there is none. Nothing is saved.
// Every value from the server is written with textContent, never as HTML.

/**
 * A short headline for the server's reason. The reason itself (from
 * workers/pipeline/probe.py) is already in plain words; the headline lets an
 * operator see the kind of problem at a glance.
 * @param {string} reason
 * @returns {string}
 */
export function headline(reason) {
  const text = reason.toLowerCase();
  if (/authentication|user name and password|401|403/.test(text)) return "Authentication failed";
  if (/timed out|within \d/.test(text)) return "Timed out";
  if (/refused|unreachable|unknown host|cannot connect|name lookup/.test(text)) return "Host unreachable";
  if (/not a video|does not speak|decode|not found|no picture|no video|opened but/.test(text)) return "Not a video stream";
  return "No picture";
}

/**
 * DRF answers a 400 with {field: [messages]} or {detail: message}: flatten it to one line.
 * @param {unknown} body
 * @returns {string}
 */
function problemText(body) {
  if (!body || typeof body !== "object") return "the server refused the request";
  return Object.values(body).flat().map(String).join(" ");
}

/**
 * Wire one `[data-test-connection]` box. Its form must have a `stream_url` input and
 * a CSRF token; `data-camera-id` (when editing) lets a “***” password keep the stored one.
 * @param {HTMLElement} box
 */
export function wireTestConnection(box) {
  const form = box.closest("form");
  const button = box.querySelector("button");
  const status = box.querySelector(".test-status");
  const frame = box.querySelector("img.test-frame");
  if (!form || !button || !status || !frame) return;

  /** @param {"busy"|"ok"|"error"} state @param {string} title @param {string} [detail] */
  function show(state, title, detail) {
    box.dataset.state = state;
    status.replaceChildren();
    const strong = document.createElement("strong");
    strong.textContent = title;
    status.append(strong);
    if (detail) status.append(document.createTextNode(`: ${detail}`));
  }

  button.addEventListener("click", async () => {
    const url = form.elements.namedItem("stream_url")?.value ?? "";
    const token = form.elements.namedItem("csrfmiddlewaretoken")?.value ?? "";
    const body = { stream_url: url };
    if (box.dataset.cameraId) body.camera = Number(box.dataset.cameraId);
    button.disabled = true;
    frame.hidden = true;
    show("busy", "Testing…", "opening the stream can take up to 10 s");
    try {
      const response = await fetch(box.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
        body: JSON.stringify(body),
      });
      const result = await response.json().catch(() => null);
      if (response.status === 403) {
        show("error", "Not allowed", "your role cannot test camera connections");
      } else if (!response.ok) {
        show("error", "Check the URL", problemText(result));
      } else if (result.ok) {
        frame.src = `data:image/jpeg;base64,${result.jpeg_base64}`;
        frame.hidden = false;
        show("ok", "Connected", `${result.width}×${result.height} picture`);
      } else {
        show("error", headline(result.error), result.error);
      }
    } catch (err) {
      show("error", "No answer from Vigil", String(err));
    } finally {
      button.disabled = false;
    }
  });
}
