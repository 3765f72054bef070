"""Real outages of the embedded services, for the fault tests: PostgreSQL stopped and
started again on its data folder, Redis shut down and started again on its socket."""
from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections


def _pgdata() -> Path:
    pgdata = Path(settings.DATA_DIR) / "postgres"
    if str(pgdata) not in settings.DATABASES["default"].get("HOST", ""):
        pytest.skip("PostgreSQL is not the embedded one: it cannot be restarted from here")
    return pgdata


@contextlib.contextmanager
def postgres_down() -> Iterator[None]:
    """Stop the embedded PostgreSQL (fast shutdown: every connection is cut), and start
    it again on leaving, with the options it ran with."""
    from pgserver._commands import POSTGRES_BIN_PATH

    pgdata = _pgdata()
    options = shlex.split((pgdata / "postmaster.opts").read_text())[1:]  # the binary, then its arguments
    data_at = options.index("-D")
    del options[data_at : data_at + 2]
    connections.close_all()  # this thread's connection would only be broken
    # pgserver runs the server as its own system user when started by root (CI)
    as_user = "pgserver" if os.geteuid() == 0 else None

    def pg_ctl(*args: str) -> None:
        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), *args], check=True, user=as_user,
                       stdout=subprocess.DEVNULL)

    pg_ctl("stop", "-m", "fast", "-w")
    try:
        yield
    finally:
        pg_ctl("start", "-w", "-l", str(pgdata / "restart.log"), "-o", shlex.join(options))


@contextlib.contextmanager
def redis_down() -> Iterator[None]:
    """Shut the embedded Redis down (it saves its data) and start it again on leaving."""
    from vision.embedded import start_redis, stop_redis

    data_dir = Path(settings.DATA_DIR)
    if start_redis(data_dir, stop_at_exit=False) != os.environ.get("REDIS_URL"):
        pytest.skip("Redis is not the embedded one: it cannot be restarted from here")
    stop_redis(data_dir)
    try:
        yield
    finally:
        start_redis(data_dir, stop_at_exit=False)


def restart_redis(down_s: float) -> float:
    """Shut the embedded Redis down, leave it down ``down_s``, start it again; the seconds it was away."""
    down = time.monotonic()
    with redis_down():
        time.sleep(down_s)
    return time.monotonic() - down
