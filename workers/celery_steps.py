"""A Celery worker consuming the ``streams`` queue hosts the stream runtime.

``celery -A vision worker -Q streams --pool solo`` starts a StreamHost next to the
worker's consumer and stops it (releasing its camera leases) on warm shutdown.

A detector that cannot be built (its model file missing, corrupt, or not the model the
catalogue describes) does not take the worker down: the reason is logged in plain words,
and the step tries again every ``VIGIL_MODEL_RETRY_SECONDS``, so fixing the file (``manage.py
fetch_models``) brings the cameras up without a restart. Meanwhile the cameras stay free
for any other worker that has the model.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from celery import bootsteps

log = logging.getLogger(__name__)

STREAMS_QUEUE = "streams"


class StreamHostStep(bootsteps.StartStopStep):
    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.host: Any = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._retry: threading.Thread | None = None

    def _consumes_streams(self, worker: Any) -> bool:
        return STREAMS_QUEUE in worker.app.amqp.queues.consume_from

    def start(self, worker: Any) -> None:
        if not self._consumes_streams(worker):
            return
        self._stopping.clear()
        if not self._try_start():
            self._retry = threading.Thread(target=self._keep_trying, name="stream-host-start", daemon=True)
            self._retry.start()

    def _try_start(self) -> bool:
        """Build and start the stream host; False (reason logged) when its models cannot be loaded."""
        from django.conf import settings

        from workers.pipeline.catalogue import ModelFileError
        from workers.runtime import build_stream_host  # Django is set up by now

        with self._lock:
            if self._stopping.is_set():
                return True  # nothing more to try
            try:
                host = build_stream_host()
            except (ModelFileError, ValueError, RuntimeError) as err:
                log.error(
                    "stream host not started: its detector cannot be loaded; retrying",
                    extra={"error": str(err), "retry_in_s": settings.VIGIL_MODEL_RETRY_SECONDS},
                )
                return False
            host.start()
            self.host = host
            return True

    def _keep_trying(self) -> None:
        from django.conf import settings

        while not self._stopping.wait(settings.VIGIL_MODEL_RETRY_SECONDS):
            if self._try_start():
                return

    def stop(self, worker: Any) -> None:
        with self._lock:
            self._stopping.set()
            host, self.host = self.host, None
        if self._retry is not None:
            self._retry.join(timeout=30)
            self._retry = None
        if host is not None:
            host.stop()

    shutdown = stop
