"""Event → operator's WebSocket and screen, through the real stack: from the frame's capture, and
from the event's creation in the worker.

A StreamHost runs cameras on a real-time file source; a real Daphne serves the web
application; an operator's WebSocket client (the ``websockets`` library, signed in with
a session cookie) receives the events through EventsConsumer and the Redis channel layer.
Latencies are the time the JSON arrives at the client minus the frame's ``captured_at``
(taken by the capture thread) and minus the event's ``created_at`` (set by the worker's
sink as it inserts the event, before the transaction commits); one clock, one machine.
The same operator also has the dashboard open in Chromium; a MutationObserver notes when
each alert appears in the feed, which adds the browser's parsing and rendering.
"""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import websockets
from playwright.async_api import async_playwright

from bench.common import MEDIA, Section, percentile
from tests.stack_helpers import CHROMIUM_ARGS
from bench.stack import fresh_cameras, running_host
from bench.web import daphne, operator_session
from workers.pipeline.detector import Detector

VIDEO = MEDIA / "vtest_480x360.avi"


# Runs before the page's own scripts: the time each alert row first appears in the feed.
_NOTE_ALERTS = """
window.__shown = {};
new MutationObserver(() => {
  for (const row of document.querySelectorAll("#alerts [data-event-id]")) {
    if (!(row.dataset.eventId in window.__shown)) window.__shown[row.dataset.eventId] = Date.now() / 1000;
  }
}).observe(document, {childList: true, subtree: true});
"""


async def _socket(port: int, seconds: float, session: str) -> dict[int, tuple[float, float, float]]:
    """Per event id: its capture time, its creation time and when it arrived at the socket."""
    headers = {"Cookie": f"sessionid={session}", "Origin": "http://localhost"}
    events: dict[int, tuple[float, float, float]] = {}
    async with websockets.connect(f"ws://localhost:{port}/ws/events/", additional_headers=headers) as socket:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(socket.recv(), timeout=left)
            except asyncio.TimeoutError:
                break
            received = time.time()
            message = json.loads(raw)
            if message.get("type") == "event":
                event = message["event"]
                events[event["id"]] = (
                    datetime.fromisoformat(event["captured_at"]).timestamp(),
                    datetime.fromisoformat(event["created_at"]).timestamp(),
                    received,
                )
    return events


async def _screen(port: int, seconds: float, session: str) -> tuple[float, dict[int, float]]:
    """When the dashboard had loaded, and when each alert appeared on it."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1500, "height": 950})
        await context.add_cookies([{"name": "sessionid", "value": session, "url": f"http://localhost:{port}"}])
        await context.add_init_script(_NOTE_ALERTS)
        page = await context.new_page()
        await page.goto(f"http://localhost:{port}/dashboard/")
        await page.wait_for_selector("#live-state[data-state=live]")
        loaded = time.time()
        await asyncio.sleep(seconds)
        shown = await page.evaluate("window.__shown")
        await browser.close()
    return loaded, {int(k): v for k, v in shown.items()}


async def _collect(port: int, seconds: float, session: str) -> dict[str, list[float]]:
    """Seconds from capture and from creation to the socket and to the screen, per event."""
    events, (loaded, shown) = await asyncio.gather(
        _socket(port, seconds, session), _screen(port, seconds, session)
    )
    # The same events in every row: those created once the dashboard was up (Chromium's start-up aside).
    measured = {i: times for i, times in events.items() if times[1] > loaded}
    on_screen = [(measured[i], t) for i, t in shown.items() if i in measured]
    return {
        "frame captured → socket": [received - captured for captured, _, received in measured.values()],
        "event created in the worker → socket": [received - created for _, created, received in measured.values()],
        "frame captured → on screen": [t - captured for (captured, _, _), t in on_screen],
        "event created in the worker → on screen": [t - created for (_, created, _), t in on_screen],
    }


def run(detector: Detector, seconds: float) -> Section:
    section = Section("Latency: event → operator's WebSocket and screen")
    cameras = 2
    fresh_cameras(cameras, VIDEO, detect_fps=5.0)
    session = operator_session()
    with daphne() as web, running_host(detector, batch_size=8, motion_gating=True, realtime_files=True):
        latencies = asyncio.run(_collect(web.port, seconds, session))
    section.add(f"{cameras} cameras on {VIDEO.name} in real time at 5 detect fps, motion gating on, "
                f"{seconds:.0f} s; each new track fires \"person seen\"; one operator socket on a real Daphne, "
                "and the same operator's dashboard in Chromium (headless).")
    section.add()
    section.add("| from | events | p50 | p95 | max |")
    section.add("|---|---|---|---|---|")
    for name, values in latencies.items():
        ms = [1000 * x for x in values]
        section.add(f"| {name} | {len(ms)} | {percentile(ms, 50):.0f} ms | {percentile(ms, 95):.0f} ms | "
                    f"{max(ms) if ms else float('nan'):.0f} ms |")
    section.add()
    section.add("From capture includes waiting for the camera's next detect slot (up to 200 ms at 5 fps), the "
                "batch, tracking, snapshot files, the transaction and the channel layer; from creation: the rest "
                "of the transaction (review items, commit), the Redis channel layer and Daphne; on screen adds the "
                "page's script and the browser's layout (the moment the alert's row enters the feed).")
    return section
