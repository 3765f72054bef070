"""Event → operator's WebSocket, through the real stack: from the frame's capture, and from the
event's creation in the worker.

A StreamHost runs cameras on a real-time file source; a real Daphne serves the web
application; an operator's WebSocket client (the ``websockets`` library, signed in with
a session cookie) receives the events through EventsConsumer and the Redis channel layer.
Latencies are the time the JSON arrives at the client minus the frame's ``captured_at``
(taken by the capture thread) and minus the event's ``created_at`` (set by the worker's
sink as it inserts the event, before the transaction commits); one clock, one machine.
"""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import websockets

from bench.common import MEDIA, Section, percentile
from bench.stack import fresh_cameras, running_host
from bench.web import daphne, operator_session
from workers.pipeline.detector import Detector

VIDEO = MEDIA / "vtest_480x360.avi"


async def _collect(port: int, seconds: float, session: str) -> tuple[list[float], list[float]]:
    """Seconds from capture and from creation to arrival, per event."""
    headers = {"Cookie": f"sessionid={session}", "Origin": "http://localhost"}
    from_capture: list[float] = []
    from_creation: list[float] = []
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
                from_capture.append(received - datetime.fromisoformat(event["captured_at"]).timestamp())
                from_creation.append(received - datetime.fromisoformat(event["created_at"]).timestamp())
    return from_capture, from_creation


def run(detector: Detector, seconds: float) -> Section:
    section = Section("Latency: event → operator's WebSocket")
    cameras = 2
    fresh_cameras(cameras, VIDEO, detect_fps=5.0)
    session = operator_session()
    with daphne() as web, running_host(detector, batch_size=8, motion_gating=True, realtime_files=True):
        from_capture, from_creation = asyncio.run(_collect(web.port, seconds, session))
    section.add(f"{cameras} cameras on {VIDEO.name} in real time at 5 detect fps, motion gating on, "
                f"{seconds:.0f} s; each new track fires \"person seen\"; one operator socket on a real Daphne.")
    section.add()
    section.add("| from | events | p50 | p95 | max |")
    section.add("|---|---|---|---|---|")
    for name, values in (("frame captured", from_capture), ("event created in the worker", from_creation)):
        ms = [1000 * x for x in values]
        section.add(f"| {name} | {len(ms)} | {percentile(ms, 50):.0f} ms | {percentile(ms, 95):.0f} ms | "
                    f"{max(ms) if ms else float('nan'):.0f} ms |")
    section.add()
    section.add("From capture includes waiting for the camera's next detect slot (up to 200 ms at 5 fps), the "
                "batch, tracking, snapshot files, the transaction and the channel layer; from creation: the rest "
                "of the transaction (review items, commit), the Redis channel layer and Daphne.")
    return section
