"""What every benchmark needs: Django on the bench database, shared data, machine facts."""
from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VIGIL_SHARED_DIR", REPO.parent / "shared")).resolve()
MEDIA = SHARED / "media"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vision.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def runs_per_second(run: Callable[[], object], threads: int, seconds: float) -> float:
    """Calls of ``run`` per second, ``threads`` threads calling it side by side for ``seconds``."""
    counts = [0] * threads
    start = time.perf_counter()

    def loop(slot: int) -> None:
        while time.perf_counter() - start < seconds:
            run()
            counts[slot] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - start)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    gpu = ""
    if shutil.which("nvidia-smi"):
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            gpu = f", GPU {result.stdout.strip()}"
    import onnxruntime

    return (
        f"{cpu}, {os.cpu_count()} cores{memory}{gpu}; Python {platform.python_version()}, "
        f"onnxruntime {onnxruntime.__version__}, {platform.system()} {platform.release()}"
    )


@dataclass
class Section:
    """One benchmark's results as Markdown."""

    title: str
    lines: list[str] = field(default_factory=list)

    def add(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def markdown(self) -> str:
        return "\n".join([f"## {self.title}", "", *self.lines, ""])
