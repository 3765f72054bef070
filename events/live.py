"""Short-lived state in Redis: the newest live frame per camera and worker heartbeats.

Written by stream workers, read by the web process. Every key expires, so a dead
worker's state disappears by itself.

A live frame is one blob: a 4-byte big-endian header length, the header as JSON
(:class:`LiveHeader`: the camera, when the frame was captured, its size and its boxes),
then the JPEG. Picture and boxes travel together, so boxes are always drawn on the frame
they were found in. The worker stores the blob under :func:`frame_key` (for whoever comes
later) and publishes it on :func:`frame_channel` (for the web processes watching the
camera, see ``events/live_hub.py``), which forward it to browsers byte for byte.
"""
from __future__ import annotations

import json
import struct
from typing import TypedDict

import cv2
import numpy as np
import redis

from workers.pipeline.detections import Detections
from workers.pipeline.drawing import annotate, encode_jpeg

FRAME_TTL_S = 30
SNAPSHOT_TTL_S = 24 * 3600  # the picture admins draw on: kept while the camera is down
HEARTBEAT_PREFIX = "vigil:worker:"
_LENGTH = struct.Struct(">I")


def frame_key(camera_id: int) -> str:
    return f"vigil:live:{camera_id}:frame"


def frame_channel(camera_id: int) -> str:
    return f"vigil:live:{camera_id}:frames"


class LiveBox(TypedDict):
    box: list[float]  # x1, y1, x2, y2 as fractions of the frame's width and height (like zones)
    class_name: str
    confidence: float
    track_id: int  # -1: not tracked


class LiveHeader(TypedDict):
    camera_id: int
    captured_at: float  # epoch seconds, when the capture thread decoded the frame
    width: int  # of the JPEG
    height: int
    boxes: list[LiveBox]


def pack_frame(header: LiveHeader, jpeg: bytes) -> bytes:
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return _LENGTH.pack(len(encoded)) + encoded + jpeg


def unpack_frame(blob: bytes) -> tuple[LiveHeader, bytes]:
    (length,) = _LENGTH.unpack_from(blob)
    header: LiveHeader = json.loads(blob[_LENGTH.size : _LENGTH.size + length])
    return header, blob[_LENGTH.size + length :]


def store_frame(client: redis.Redis, header: LiveHeader, jpeg: bytes) -> None:
    blob = pack_frame(header, jpeg)
    camera_id = header["camera_id"]
    pipe = client.pipeline(transaction=False)
    pipe.set(frame_key(camera_id), blob, ex=FRAME_TTL_S)
    pipe.publish(frame_channel(camera_id), blob)
    pipe.execute()


def load_frame(client: redis.Redis, camera_id: int) -> bytes | None:
    """The newest live frame blob of the camera (see :func:`unpack_frame`), if any."""
    return client.get(frame_key(camera_id))  # type: ignore[return-value]


def annotated_jpeg(blob: bytes) -> bytes:
    """The frame of a live blob with its boxes and labels drawn on it, for plain ``<img>`` views."""
    header, jpeg = unpack_frame(blob)
    if not header["boxes"]:
        return jpeg
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return jpeg
    names = sorted({b["class_name"] for b in header["boxes"]})
    scale = np.array([image.shape[1], image.shape[0]] * 2, np.float32)
    detections = Detections(
        xyxy=np.array([b["box"] for b in header["boxes"]], np.float32) * scale,
        confidence=np.array([b["confidence"] for b in header["boxes"]]),
        class_id=np.array([names.index(b["class_name"]) for b in header["boxes"]]),
        tracker_id=np.array([b["track_id"] for b in header["boxes"]]),
    )
    return encode_jpeg(annotate(image, detections, names), max_width=None)


def snapshot_key(camera_id: int) -> str:
    return f"vigil:snapshot:{camera_id}:jpeg"


def store_snapshot(client: redis.Redis, camera_id: int, jpeg: bytes) -> None:
    """The camera's picture without boxes, refreshed now and then by its worker."""
    client.set(snapshot_key(camera_id), jpeg, ex=SNAPSHOT_TTL_S)


def load_snapshot(client: redis.Redis, camera_id: int) -> bytes | None:
    return client.get(snapshot_key(camera_id))  # type: ignore[return-value]


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
