// Reconnect delays: exponential, capped, jittered.

/**
 * How long to wait before reconnect attempt `attempt` (0 for the first retry).
 *
 * The ceiling doubles per attempt up to `capMs`; the delay is half the ceiling plus a
 * random share of the other half ("equal jitter"): hundreds of browsers that lost a
 * restarting server spread their reconnects out, yet none retries in a tight loop.
 * @param {number} attempt
 * @param {{baseMs?: number, capMs?: number, random?: () => number}} [options]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { baseMs = 500, capMs = 15000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 20));
  return ceiling / 2 + (random() * ceiling) / 2;
}
