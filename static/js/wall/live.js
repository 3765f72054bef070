// The /ws/live/ protocol (events/live_consumer.py): which cameras to watch, frames with their
// boxes, camera configuration (zones and lines), health, and the acknowledgements that make
// the server send the newest frame instead of a backlog.

import { ReconnectingSocket } from "./socket.js";

/**
 * A binary frame: 4-byte big-endian header length, JSON header, JPEG.
 * @param {ArrayBuffer} buffer
 * @returns {{header: FrameHeader, jpeg: Blob}}
 */
export function parseFrame(buffer) {
  const length = new DataView(buffer).getUint32(0, false);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  return { header, jpeg: new Blob([new Uint8Array(buffer, 4 + length)], { type: "image/jpeg" }) };
}

/**
 * @typedef {{box: number[], class_name: string, confidence: number, track_id: number|null}} LiveBox
 * @typedef {{camera_id: number, captured_at: number, width: number, height: number, boxes: LiveBox[]}} FrameHeader
 */

export class LiveClient extends EventTarget {
  constructor() {
    super();
    this.socket = new ReconnectingSocket("/ws/live/");
    /** @type {number[]} */
    this.wanted = [];
    this.fps = 5;
    /** Bumped per connection: frames of an old connection must not be acknowledged on a new one. */
    this.generation = 0;
    this.socket.addEventListener("open", () => {
      this.generation += 1;
      this.dispatchEvent(new Event("reset"));
      this.sendSubscription();
    });
    this.socket.addEventListener("binary", (e) => {
      const frame = parseFrame(/** @type {CustomEvent} */ (e).detail);
      this.dispatchEvent(new CustomEvent("frame", { detail: { ...frame, generation: this.generation } }));
    });
    this.socket.addEventListener("message", (e) => {
      const data = /** @type {CustomEvent} */ (e).detail;
      this.dispatchEvent(new CustomEvent(data.type, { detail: data }));
    });
  }

  start() {
    this.socket.start();
    return this;
  }

  /**
   * Watch exactly these cameras (the visible tiles), at most `fps` frames a second each.
   * @param {number[]} cameraIds
   * @param {number} fps
   */
  watch(cameraIds, fps) {
    const same = fps === this.fps && cameraIds.length === this.wanted.length && cameraIds.every((id, i) => id === this.wanted[i]);
    this.wanted = [...cameraIds];
    this.fps = fps;
    if (!same) this.sendSubscription();
  }

  sendSubscription() {
    this.socket.send({ type: "subscribe", cameras: this.wanted, max_fps: this.fps });
  }

  /**
   * Tell the server `count` frames of the camera were shown (or skipped for a newer one).
   * @param {number} cameraId
   * @param {number} count
   * @param {number} generation the connection the frames came on
   */
  ack(cameraId, count, generation) {
    if (generation !== this.generation) return;
    for (let i = 0; i < count; i += 1) this.socket.send({ type: "ack", camera_id: cameraId });
  }
}
