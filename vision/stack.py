"""``make run``: the whole Vigil stack in one terminal.

Starts embedded PostgreSQL/Redis when ``DATABASE_URL``/``REDIS_URL`` are not set,
migrates, creates the first admin, then runs the web server (Daphne), a stream worker,
a task worker and beat as child processes. Ctrl-C (or SIGTERM) stops all of them and
the embedded services; if one child dies, the others are stopped too.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vision import embedded
from vision.env import env_int, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 15


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _commands(bind: str, port: int) -> dict[str, list[str]]:
    return {
        "web": _python("-m", "daphne", "-b", bind, "-p", str(port), "vision.asgi:application"),
        "streams": _python(
            "-m", "celery", "-A", "vision", "worker", "-Q", "streams", "--pool", "solo",
            "-n", "streams@%h", "--without-gossip", "--without-mingle", "-l", "WARNING",
        ),
        "tasks": _python(
            "-m", "celery", "-A", "vision", "worker", "-Q", "default", "--concurrency", "2",
            "-n", "default@%h", "--without-gossip", "--without-mingle", "-l", "WARNING",
        ),
        "beat": _python(
            "-m", "celery", "-A", "vision", "beat", "-l", "WARNING",
            "--schedule", str(env_path("VIGIL_DATA_DIR", BASE_DIR / ".data") / "celerybeat-schedule"),
        ),
    }


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"vigil: {name} did not stop in {STOP_GRACE_S}s; killing it", flush=True)
            proc.kill()
            proc.wait()


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vision.settings")
    data_dir = env_path("VIGIL_DATA_DIR", BASE_DIR / ".data")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["VIGIL_DATA_DIR"] = str(data_dir)
    started_redis = not os.environ.get("REDIS_URL")
    embedded.ensure_environment(data_dir)  # children inherit the URLs
    bind = env_str("VIGIL_BIND", "127.0.0.1")
    port = env_int("VIGIL_PORT", 8000, minimum=1)
    try:
        manage = _python(str(BASE_DIR / "manage.py"))
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True)
        subprocess.run([*manage, "ensure_admin"], check=True)
        # Present files with the right checksum are kept; missing ones are downloaded.
        subprocess.run([*manage, "fetch_models", "-v", "0"], check=True)
    except subprocess.CalledProcessError as err:
        print(f"vigil: start-up step failed: {' '.join(err.cmd[1:])}", file=sys.stderr)
        if "fetch_models" in err.cmd:
            print("vigil: the stream worker needs the model files; put them in VIGIL_MODEL_DIR "
                  "or let `python manage.py fetch_models` download them", file=sys.stderr)
        return 1

    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for name, command in _commands(bind, port).items():
        # own process group: a Ctrl-C in the terminal reaches only this supervisor,
        # which then stops every child in order
        children[name] = subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
    host = "localhost" if bind in {"127.0.0.1", "0.0.0.0"} else bind
    print(f"\nVigil is starting at http://{host}:{port}/  (sign in as the admin above; Ctrl-C stops everything)\n",
          flush=True)
    exit_code = 0
    try:
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    print(f"vigil: {name} exited with code {proc.returncode}; stopping the stack", flush=True)
                    stopping, exit_code = True, 1
                    break
            time.sleep(0.5)
    finally:
        print("vigil: stopping ...", flush=True)
        _stop(children)
        if started_redis:
            embedded.stop_redis(data_dir)
        print("vigil: stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
