"""Many WebSocket clients in one process, for the benchmarks. No Django here: it runs in a spawned
process, so the clients' CPU is not the producer's, and talks to its parent through a pipe."""
from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import websockets

Deliveries = tuple[list[int], list[float]]  # event ids as received; seconds from created_at to arrival


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


async def _connect(url: str, headers: dict[str, str]) -> Any:
    """Connect as a browser would: a refused or dropped handshake is tried again after a while."""
    for attempt in range(6):
        try:
            return await websockets.connect(url, additional_headers=headers, max_queue=None)
        except (OSError, websockets.exceptions.InvalidHandshake):
            await asyncio.sleep(0.5 * 2**attempt)
    return await websockets.connect(url, additional_headers=headers, max_queue=None)


async def _events_client(url: str, headers: dict[str, str], opened: asyncio.Queue[None], out: Deliveries) -> None:
    ids, latencies = out
    async with await _connect(url, headers) as socket:
        opened.put_nowait(None)
        async for raw in socket:
            received = time.time()
            message = json.loads(raw)
            if message.get("type") == "event":
                ids.append(message["event"]["id"])
                latencies.append(received - datetime.fromisoformat(message["event"]["created_at"]).timestamp())


async def _events_clients(port: int, session: str, clients: int, pipe: Connection) -> list[Deliveries]:
    url = f"ws://127.0.0.1:{port}/ws/events/"
    headers = {"Cookie": f"sessionid={session}", "Origin": "http://localhost"}
    opened: asyncio.Queue[None] = asyncio.Queue()
    results: list[Deliveries] = [([], []) for _ in range(clients)]
    tasks = []
    for out in results:
        tasks.append(asyncio.create_task(_events_client(url, headers, opened, out)))
        await asyncio.sleep(0.01)  # not all in the same millisecond
    for _ in range(clients):
        await asyncio.wait_for(opened.get(), 60)
    pipe.send(("connected", _cpu_s()))
    stop_at: float = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    await asyncio.sleep(max(0.0, stop_at - time.time()))
    for task in tasks:
        task.cancel()
    failed = [r for r in await asyncio.gather(*tasks, return_exceptions=True)
              if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
    if failed:
        raise RuntimeError(f"{len(failed)} sockets failed, e.g. {failed[0]!r}")
    return results


def events_clients(port: int, session: str, clients: int, pipe: Connection) -> None:
    """Open ``clients`` /ws/events/ sockets, send ("connected", cpu_s); receive the epoch time to stop
    at; then send ("results", [(ids, latencies) per socket], cpu_s)."""
    results = asyncio.run(_events_clients(port, session, clients, pipe))
    pipe.send(("results", results, _cpu_s()))


async def _live_client(url: str, headers: dict[str, str], cameras: list[int], opened: asyncio.Queue[None],
                       frames: dict[int, int]) -> None:
    async with await _connect(url, headers) as socket:
        await socket.send(json.dumps({"type": "subscribe", "cameras": cameras}))
        opened.put_nowait(None)
        async for raw in socket:
            if isinstance(raw, bytes):
                length = int.from_bytes(raw[:4], "big")
                camera_id = json.loads(raw[4 : 4 + length])["camera_id"]
                frames[camera_id] = frames.get(camera_id, 0) + 1
                await socket.send(json.dumps({"type": "ack", "camera_id": camera_id}))


async def _live_clients(port: int, session: str, clients: int, cameras: list[int], pipe: Connection) -> Any:
    url = f"ws://127.0.0.1:{port}/ws/live/"
    headers = {"Cookie": f"sessionid={session}", "Origin": "http://localhost"}
    opened: asyncio.Queue[None] = asyncio.Queue()
    counts: list[dict[int, int]] = [{} for _ in range(clients)]
    tasks = [asyncio.create_task(_live_client(url, headers, cameras, opened, c)) for c in counts]
    for _ in range(clients):
        await asyncio.wait_for(opened.get(), 60)
    await asyncio.sleep(2.0)  # past the first frames of each camera
    for count in counts:
        count.clear()
    started = time.monotonic()
    pipe.send(("measuring", _cpu_s()))
    seconds: float = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
    elapsed = time.monotonic() - started
    snapshot = [dict(c) for c in counts]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return snapshot, elapsed


def live_clients(port: int, session: str, clients: int, cameras: list[int], pipe: Connection) -> None:
    """Open ``clients`` /ws/live/ sockets on ``cameras``, acknowledging every frame; send ("measuring",
    cpu_s); receive how many seconds to count; send ("results", frames per camera per socket, elapsed, cpu_s)."""
    counts, elapsed = asyncio.run(_live_clients(port, session, clients, cameras, pipe))
    pipe.send(("results", counts, elapsed, _cpu_s()))
