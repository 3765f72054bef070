"""Camera leases in Redis: each camera is run by exactly one stream worker.

A lease is a key ``vigil:lease:camera:<id>`` holding the worker's id, with a TTL. The
holder renews it well before it expires; a worker that dies stops renewing, and the
lease lapses so another worker can claim the camera. Renew and release are atomic
compare-and-set scripts, so a worker can never extend or drop someone else's lease.
"""
from __future__ import annotations

from collections.abc import Iterable

import redis

_RENEW = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    table.insert(held, key)
  end
end
return held
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def lease_key(camera_id: int) -> str:
    return f"vigil:lease:camera:{camera_id}"


class LeaseManager:
    def __init__(self, client: redis.Redis, worker_id: str, ttl_s: float) -> None:
        self.client = client
        self.worker_id = worker_id
        self.ttl_ms = int(ttl_s * 1000)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def claim(self, camera_id: int) -> bool:
        return bool(self.client.set(lease_key(camera_id), self.worker_id, nx=True, px=self.ttl_ms))

    def renew(self, camera_ids: Iterable[int]) -> set[int]:
        """Extend the leases still held; return the ids of those (the others were lost)."""
        ids = list(camera_ids)
        if not ids:
            return set()
        held = self._renew(keys=[lease_key(i) for i in ids], args=[self.worker_id, self.ttl_ms])
        held_keys = {k.decode() if isinstance(k, bytes) else k for k in held}
        return {i for i in ids if lease_key(i) in held_keys}

    def release(self, camera_id: int) -> None:
        self._release(keys=[lease_key(camera_id)], args=[self.worker_id])

    def holder(self, camera_id: int) -> str | None:
        value = self.client.get(lease_key(camera_id))
        return value.decode() if isinstance(value, bytes) else value
