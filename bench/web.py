"""The web side of the benchmarks: a real Daphne on the bench database and Redis, signed-in sessions,
and the CPU a process used."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from bench.common import REPO, free_port
from vision.roles import OPERATOR


def operator_session(username: str = "bench-operator") -> str:
    """A session cookie of an operator (created if needed)."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.add(Group.objects.get(name=OPERATOR))
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={db['HOST']}"


@dataclass
class Daphne:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far."""
        fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def daphne() -> Iterator[Daphne]:
    """``daphne vision.asgi:application`` on a free port, as ``make run`` serves it."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL}
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-p", str(port), "vision.asgi:application"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?component=web", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.3)
        yield Daphne(port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
