"""Fan-out: 200 operator sockets on one Daphne while 50 events a second are created.

Events are inserted and published exactly as the stream worker's sink does (insert under the
event lock, commit, ``publish_event``), paced at the rate; the sockets, in a separate process,
record every event they get. Reported: delivery latency (arrival − ``created_at``) over every
delivery, messages lost or duplicated per socket, and the web process's CPU.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from datetime import datetime, timezone

from bench.common import MEDIA, Section, percentile
from bench.stack import fresh_cameras
from bench.web import daphne, operator_session
from bench.ws_clients import events_clients
from events.models import Detection, Event
from events.payloads import event_payload
from events.publisher import publish_event

CLIENTS = 200
RATE = 50.0
GRACE_S = 5.0  # after the last event, for the last deliveries


def _produce(camera_ids: list[int], seconds: float) -> list[int]:
    """Create and publish events at RATE for ``seconds``; their ids."""
    now = datetime.now(timezone.utc)
    detections = {
        cid: Detection.objects.create(
            camera_id=cid, captured_at=now, track_id=1, class_id=0, class_name="person", confidence=0.9, x1=10,
            y1=20, x2=60, y2=140, frame_width=480, frame_height=360, model_name="yolox_nano", model_version="bench",
        )
        for cid in camera_ids
    }
    names = {cid: f"bench {i}" for i, cid in enumerate(camera_ids)}
    ids: list[int] = []
    started = time.monotonic()
    n = 0
    while (due := started + n / RATE) < started + seconds:
        time.sleep(max(0.0, due - time.monotonic()))
        cid = camera_ids[n % len(camera_ids)]
        event = Event.objects.create(
            camera_id=cid, rule_name="Person seen", detection=detections[cid], track_id=n, class_name="person",
            confidence=0.9, captured_at=datetime.now(timezone.utc), snapshot=f"snapshots/{cid}/bench.jpg",
        )
        publish_event(event_payload(event, names[cid]))
        ids.append(event.pk)
        n += 1
    return ids


def run(seconds: float, clients: int = CLIENTS) -> Section:
    section = Section("Fan-out: operator sockets while events are created")
    camera_ids = fresh_cameras(4, MEDIA / "vtest_480x360.avi", detect_fps=5.0)  # no worker runs them
    session = operator_session()
    context = multiprocessing.get_context("spawn")
    with daphne() as web:
        ours, theirs = context.Pipe()
        process = context.Process(target=events_clients, args=(web.port, session, clients, theirs), daemon=True)
        process.start()
        _kind, client_cpu_before = ours.recv()  # every socket is open
        web_cpu_before, wall_before, load_before = web.cpu_seconds(), time.monotonic(), os.getloadavg()[0]
        ids = _produce(camera_ids, seconds)
        ours.send(time.time() + GRACE_S)
        _kind, results, client_cpu_after = ours.recv()
        wall = time.monotonic() - wall_before
        web_cpu = (web.cpu_seconds() - web_cpu_before) / wall
        client_cpu = (client_cpu_after - client_cpu_before) / wall
        load = max(load_before, os.getloadavg()[0])
        process.join(10)

    produced = set(ids)
    latencies = [1000 * x for _ids, lat in results for x in lat]
    lost = sum(len(produced - set(got)) for got, _lat in results)
    duplicated = sum(len(got) - len(set(got)) for got, _lat in results)
    out_of_order = sum(got != sorted(got) for got, _lat in results)
    section.add(f"{clients} sockets on /ws/events/ (one Daphne, Redis channel layer), {len(ids)} events created "
                f"in {seconds:.0f} s ({len(ids) / seconds:.0f}/s) on 4 cameras, inserted and published as the "
                f"sink does; {clients * len(ids)} deliveries expected. Clients in a separate process.")
    section.add()
    section.add("| deliveries | lost | duplicated | sockets out of order | p50 | p95 | p99 | max | web process CPU | "
                "clients' CPU | load average |")
    section.add("|---|---|---|---|---|---|---|---|---|---|---|")
    section.add(f"| {len(latencies)} | {lost} | {duplicated} | {out_of_order} | {percentile(latencies, 50):.0f} ms | "
                f"{percentile(latencies, 95):.0f} ms | {percentile(latencies, 99):.0f} ms | "
                f"{max(latencies, default=float('nan')):.0f} ms | {100 * web_cpu:.0f} % of a core | "
                f"{100 * client_cpu:.0f} % of a core | {load:.1f} |")
    section.add()
    section.add("Latency: arrival at the socket − the event's created_at (set just before its insert), so it "
                "includes the commit, the group send to 200 channels and Daphne writing 200 copies.")
    return section
