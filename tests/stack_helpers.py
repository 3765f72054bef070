"""The whole stack (`python -m vision.stack`) as the browser tests start it, and Chromium's flags.

Each stack runs on its own data folder (its own embedded PostgreSQL and Redis), prints
the first admin's password, and must stop cleanly on Ctrl-C.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.pipeline.rtsp_server import free_tcp_port

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


class Stack:
    def __init__(self, data_dir: Path, video_dir: Path, port: int, extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.update(
            VIGIL_DATA_DIR=str(data_dir), VIGIL_VIDEO_DIR=str(video_dir), VIGIL_PORT=str(port),
            VIGIL_CONFIG_POLL_SECONDS="1", PYTHONUNBUFFERED="1",
        )
        env.update(extra_env or {})
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vision.stack"], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(self.lines)[-4000:]}")

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; the exit status (0: every process exited cleanly)."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 in {timeout}s")


@dataclass
class RunningStack:
    base: str
    password: str
    data_dir: Path
    stack: Stack

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Call the REST API as the admin (HTTP basic auth: no CSRF, no browser): status and body."""
        token = base64.b64encode(f"admin:{self.password}".encode()).decode()
        request = urllib.request.Request(
            self.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:  # not JSON (a crash page): keep it for the assertion message
            return status, raw.decode(errors="replace")[-2000:]


@contextmanager
def running_stack(data_dir: Path, video_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[RunningStack]:
    """A stack serving HTTP, signed-in-able as ``admin``; stopped with Ctrl-C afterwards."""
    port = free_tcp_port()
    stack = Stack(data_dir, video_dir, port, extra_env)
    try:
        password = stack.wait_for_line(r"password: (\S+)", timeout=300).group(1)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz?component=web", timeout=120)
        yield RunningStack(base, password, data_dir, stack)
    finally:
        code = stack.stop()
    assert code == 0, "".join(stack.lines)[-3000:]
