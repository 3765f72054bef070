"""WebSocket clients for the tests: Channels' communicator through the real ASGI stack (session
auth, origin check) on the real Redis channel layer."""
from __future__ import annotations

import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from events.live import unpack_frame
from tests.conftest import client_for
from vision.asgi import application


def headers_for(user: Any = None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        session = client_for(user).cookies["sessionid"].value
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return headers


async def open_socket(path: str, user: Any = None) -> tuple[WebsocketCommunicator, bool, int | None]:
    """A connected (or refused) communicator, whether it connected, and the close code if refused."""
    headers = await database_sync_to_async(headers_for)(user)
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    if not connected:  # let the refused consumer finish, or its channel-layer read outlives the test
        await communicator.disconnect()
    return communicator, connected, code


async def receive(socket, timeout=5.0):
    """The next message: a dict for JSON, ``(header, jpeg)`` for a live frame."""
    output = await socket.receive_output(timeout)
    assert output["type"] == "websocket.send", output
    if output.get("bytes") is not None:
        return unpack_frame(output["bytes"])
    return json.loads(output["text"])


async def receive_until(socket, predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        message = await receive(socket, max(0.1, deadline - time.monotonic()))
        if predicate(message):
            return message


def is_frame(message) -> bool:
    return isinstance(message, tuple)
