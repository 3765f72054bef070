"""Short-lived state in Redis: the newest annotated frame per camera and worker heartbeats.

Written by stream workers, read by the web process. Every key expires, so a dead
worker's state disappears by itself.
"""
from __future__ import annotations

import json
from typing import Any, TypedDict

import redis

FRAME_TTL_S = 30
SNAPSHOT_TTL_S = 24 * 3600  # the picture admins draw on: kept while the camera is down
HEARTBEAT_PREFIX = "vigil:worker:"


def frame_key(camera_id: int) -> str:
    return f"vigil:live:{camera_id}:jpeg"


def boxes_key(camera_id: int) -> str:
    return f"vigil:live:{camera_id}:boxes"


class WorkerCamera(TypedDict):
    id: int
    status: str
    detail: str
    decoded_fps: float
    processed_fps: float
    frames_dropped: int  # decoded but replaced by a newer one before the detector looked
    frames_corrupt: int
    reconnects: int


class WorkerHeartbeat(TypedDict):
    worker: str
    pid: int
    capacity: int
    model: str
    providers: list[str]
    cameras: list[WorkerCamera]
    counters: dict[str, int]  # frames_processed, frames_skipped_still (saved by gating), batches, events
    updated_at: float


def store_frame(client: redis.Redis, camera_id: int, jpeg: bytes, boxes: list[dict[str, Any]]) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.set(frame_key(camera_id), jpeg, ex=FRAME_TTL_S)
    pipe.set(boxes_key(camera_id), json.dumps(boxes), ex=FRAME_TTL_S)
    pipe.execute()


def load_frame(client: redis.Redis, camera_id: int) -> bytes | None:
    return client.get(frame_key(camera_id))  # type: ignore[return-value]


def snapshot_key(camera_id: int) -> str:
    return f"vigil:snapshot:{camera_id}:jpeg"


def store_snapshot(client: redis.Redis, camera_id: int, jpeg: bytes) -> None:
    """The camera's picture without boxes, refreshed now and then by its worker."""
    client.set(snapshot_key(camera_id), jpeg, ex=SNAPSHOT_TTL_S)


def load_snapshot(client: redis.Redis, camera_id: int) -> bytes | None:
    return client.get(snapshot_key(camera_id))  # type: ignore[return-value]


def store_heartbeat(client: redis.Redis, heartbeat: WorkerHeartbeat, ttl_s: float) -> None:
    client.set(HEARTBEAT_PREFIX + heartbeat["worker"], json.dumps(heartbeat), px=int(ttl_s * 1000))


def clear_heartbeat(client: redis.Redis, worker: str) -> None:
    client.delete(HEARTBEAT_PREFIX + worker)


def load_heartbeats(client: redis.Redis) -> list[WorkerHeartbeat]:
    keys = list(client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=100))
    beats = []
    for raw in client.mget(keys) if keys else []:
        if raw:
            beats.append(json.loads(raw))
    return sorted(beats, key=lambda b: b["worker"])
