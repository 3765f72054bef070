"""Camera leases on the real Redis."""
import time

from workers.leases import LeaseManager


def test_it_gives_a_camera_to_exactly_one_worker(redis_client):
    a = LeaseManager(redis_client, "worker-a", ttl_s=5)
    b = LeaseManager(redis_client, "worker-b", ttl_s=5)
    assert a.claim(1)
    assert not b.claim(1)
    assert a.holder(1) == "worker-a"


def test_it_renews_only_leases_still_held(redis_client):
    a = LeaseManager(redis_client, "worker-a", ttl_s=0.3)
    b = LeaseManager(redis_client, "worker-b", ttl_s=5)
    assert a.claim(1) and a.claim(2)
    time.sleep(0.4)  # both lapse
    assert b.claim(2)  # another worker took camera 2
    assert a.claim(1)
    assert a.renew([1, 2]) == {1}
    assert b.holder(2) == "worker-b"


def test_it_never_releases_another_workers_lease(redis_client):
    a = LeaseManager(redis_client, "worker-a", ttl_s=5)
    b = LeaseManager(redis_client, "worker-b", ttl_s=5)
    assert a.claim(7)
    b.release(7)
    assert a.holder(7) == "worker-a"
    a.release(7)
    assert a.holder(7) is None
