"""A Celery worker consuming the ``streams`` queue hosts the stream runtime.

``celery -A vision worker -Q streams --pool solo`` starts a StreamHost next to the
worker's consumer and stops it (releasing its camera leases) on warm shutdown.
"""
from __future__ import annotations

from typing import Any

from celery import bootsteps

STREAMS_QUEUE = "streams"


class StreamHostStep(bootsteps.StartStopStep):
    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.host: Any = None

    def _consumes_streams(self, worker: Any) -> bool:
        return STREAMS_QUEUE in worker.app.amqp.queues.consume_from

    def start(self, worker: Any) -> None:
        if not self._consumes_streams(worker):
            return
        from workers.runtime import build_stream_host  # Django is set up by now

        self.host = build_stream_host()
        self.host.start()

    def stop(self, worker: Any) -> None:
        if self.host is not None:
            self.host.stop()
            self.host = None

    shutdown = stop
