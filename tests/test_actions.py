"""Rule actions against real peers: an HTTP server in a thread, the local mosquitto broker,
the embedded Redis that is the Celery broker."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cameras.models import Camera, Rule
from events import actions
from events.actions import (
    AttemptOutcome,
    backoff_seconds,
    deliver_mqtt,
    deliver_webhook,
    enqueue_actions,
    enqueue_pending_actions,
    event_message,
    http_status_retryable,
    record_pending_actions,
    retry_delay,
)
from events.models import Detection, Event, PendingActions
from tests.outages import redis_down
from vision.logs import JsonFormatter
from workers.tasks import deliver_webhook_task, publish_mqtt_task

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
SIGNING_SECRET = "whsec-7f3a9c-signing-key"
URL_PASSWORD = "hunter2-url-password"
PATH_TOKEN = "T0K3N-in-the-path-91b2"
MQTT_PASSWORD = "mqtt-pass-5521"


# --- peers ----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: Message
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next queued status (200 once they run out) and keeps it."""

    url: str
    statuses: deque[int] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Received(self.path, self.headers, body))
            status = state.statuses.popleft() if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def subscriber() -> Iterator[tuple[str, queue.Queue[bytes]]]:
    """A client subscribed (SUBACK received) to a fresh topic on the local mosquitto."""
    topic = f"vigil-test/{uuid.uuid4().hex}/events"
    received: queue.Queue[bytes] = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.on_message = lambda _c, _u, message: received.put(bytes(message.payload))
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_connect = lambda c, *_args: c.subscribe(topic, qos=1)
    client.connect(MQTT_HOST, MQTT_PORT)
    client.loop_start()
    assert subscribed.wait(5), "no SUBACK from the broker at 127.0.0.1:1883"
    yield topic, received
    client.disconnect()
    client.loop_stop()


# --- data -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def action_settings(settings) -> None:
    settings.VIGIL_ACTION_TIMEOUT = 2.0
    settings.VIGIL_ACTION_MAX_ATTEMPTS = 8
    settings.VIGIL_PUBLIC_URL = ""
    settings.VIGIL_MQTT_URL = ""
    actions._mqtt_disabled_warned.clear()


@pytest.fixture
def camera(db) -> Camera:
    return Camera.objects.create(name="Gate", stream_url="rtsp://admin:camera-pass@10.0.0.5/live")


def make_rule(camera: Camera, name: str, **actions_: str) -> Rule:
    return Rule.objects.create(camera=camera, name=name, object_classes=["person"], severity="critical", **actions_)


def make_event(rule: Rule) -> Event:
    detection = Detection.objects.create(
        camera=rule.camera, captured_at=datetime(2025, 5, 1, 22, 15, tzinfo=timezone.utc), track_id=7, class_id=0,
        class_name="person", confidence=0.91, x1=10, y1=20, x2=110, y2=220, frame_width=640, frame_height=480,
        model_name="yolox_nano", model_version="1",
    )
    return Event.objects.create(
        camera=rule.camera, rule=rule, rule_name=rule.name, detection=detection, track_id=7, class_name="person",
        confidence=0.91, severity=rule.severity, captured_at=detection.captured_at,
        snapshot="snapshots/1/2025-05-01/abc.jpg", evidence={"trigger": "enter", "zone": "Driveway", "dwell_s": 1.5},
    )


def verify(secret: bytes, headers: Message, raw_body: bytes, tolerance_s: int = 300) -> bool:
    """The receiver's check, as events/actions.py documents it."""
    timestamp = headers["X-Vigil-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    expected = hmac.new(secret, timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers["X-Vigil-Signature"])


# --- webhook --------------------------------------------------------------------------


def test_webhook_posts_the_event_signed_with_the_rule_secret(camera, receiver, settings):
    settings.VIGIL_PUBLIC_URL = "https://vigil.example.com"
    rule = make_rule(camera, "Gate at night", webhook_url=receiver.url + "/hooks/vigil", webhook_secret=SIGNING_SECRET)
    event = make_event(rule)

    result = deliver_webhook(event.pk)

    assert result.outcome == "delivered" and result.status == 200 and result.attempt == 1
    [request] = receiver.requests
    assert request.path == "/hooks/vigil"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Vigil-Event"] == str(event.pk)
    assert request.headers["X-Vigil-Signature"].startswith("sha256=")
    assert verify(SIGNING_SECRET.encode(), request.headers, request.body)
    assert not verify(b"another secret", request.headers, request.body)
    assert not verify(SIGNING_SECRET.encode(), request.headers, request.body + b" ")
    message = json.loads(request.body)
    assert message["type"] == "event.created"
    assert message["rule"] == {"id": rule.pk, "name": "Gate at night", "trigger": "seen", "severity": "critical"}
    assert message["evidence"] == {"trigger": "enter", "zone": "Driveway", "dwell_s": 1.5}
    assert message["event"]["id"] == event.pk
    assert message["event"]["camera_name"] == "Gate"
    assert message["event"]["box"] == [10, 20, 110, 220]
    assert message["event"]["snapshot_url"] == "https://vigil.example.com/media/snapshots/1/2025-05-01/abc.jpg"
    links = {k: v for k, v in message["event"].items() if k.endswith("_url") and v}  # "": no crop, no clip yet
    assert {"snapshot_url", "event_url"} <= set(links)
    assert all(v.startswith("https://vigil.example.com/") for v in links.values())


def test_webhook_without_a_secret_is_not_signed_and_snapshot_url_stays_relative(camera, receiver):
    event = make_event(make_rule(camera, "Plain", webhook_url=receiver.url + "/"))

    assert deliver_webhook(event.pk).outcome == "delivered"

    [request] = receiver.requests
    assert "X-Vigil-Signature" not in request.headers
    assert json.loads(request.body)["event"]["snapshot_url"] == "/media/snapshots/1/2025-05-01/abc.jpg"


def test_a_500_then_a_200_is_retried_by_the_task_and_delivered(camera, receiver, caplog):
    caplog.set_level(logging.INFO, logger="events.actions")
    receiver.statuses.extend([500])
    event = make_event(make_rule(camera, "Retry", webhook_url=receiver.url + "/", webhook_secret=SIGNING_SECRET))

    # apply() runs the task here; Celery runs an eager task's retry at once, ignoring the countdown
    result = deliver_webhook_task.apply(args=[event.pk]).get()

    assert result["outcome"] == "delivered" and result["attempt"] == 2
    assert [r.headers["X-Vigil-Event"] for r in receiver.requests] == [str(event.pk)] * 2
    assert all(verify(SIGNING_SECRET.encode(), r.headers, r.body) for r in receiver.requests)
    [retry_log] = [r for r in caplog.records if getattr(r, "outcome", None) == "retry"]
    assert retry_log.status == 500 and retry_log.attempt == 1
    assert 30 <= retry_log.retry_in_s <= 60  # first backoff: 60 s with equal jitter


def test_a_404_is_not_retried(camera, receiver):
    receiver.statuses.extend([404])
    event = make_event(make_rule(camera, "Gone", webhook_url=receiver.url + "/missing"))

    result = deliver_webhook_task.apply(args=[event.pk]).get()

    assert result["outcome"] == "failed" and result["status"] == 404 and result["attempt"] == 1
    assert len(receiver.requests) == 1


def test_a_refused_connection_is_retried_until_the_attempts_are_used_up(camera, settings):
    settings.VIGIL_ACTION_MAX_ATTEMPTS = 3
    event = make_event(make_rule(camera, "Down", webhook_url=f"http://127.0.0.1:{closed_port()}/hook"))

    first = deliver_webhook(event.pk)
    assert first.outcome == "retry" and first.retry_in_s is not None and "Refused" in first.detail

    result = deliver_webhook_task.apply(args=[event.pk]).get()
    assert result["outcome"] == "failed" and result["attempt"] == 3


def test_5xx_are_retried_up_to_the_limit(camera, receiver, settings):
    settings.VIGIL_ACTION_MAX_ATTEMPTS = 4
    receiver.statuses.extend([503, 502, 500, 500, 500])
    event = make_event(make_rule(camera, "Flaky", webhook_url=receiver.url + "/"))

    result = deliver_webhook_task.apply(args=[event.pk]).get()

    assert result["outcome"] == "failed" and result["status"] == 500 and result["attempt"] == 4
    assert len(receiver.requests) == 4


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (408, True), (429, True), (400, False), (401, False), (404, False),
     (410, False), (301, False)],
)
def test_which_http_statuses_are_retried(status, retryable):
    assert http_status_retryable(status) is retryable


def test_backoff_is_capped_exponential_with_jitter():
    lows = [backoff_seconds(n, rand=lambda: 0.0) for n in range(1, 8)]
    highs = [backoff_seconds(n, rand=lambda: 1.0) for n in range(1, 8)]
    assert highs == [60, 120, 240, 480, 960, 1200, 1200]
    assert lows == [h / 2 for h in highs]
    assert 30 * 60 < sum(lows) and sum(highs) < 75 * 60  # 8 attempts span about an hour
    assert backoff_seconds(3, base=1, cap=100, rand=lambda: 0.5) == 3.0


def test_retry_decision_honours_retry_after_and_the_attempt_limit():
    busy = AttemptOutcome(ok=False, retryable=True, status=429, retry_after_s=600)
    assert retry_delay(1, busy, max_attempts=8) == 600
    assert retry_delay(1, AttemptOutcome(ok=False, retryable=True, retry_after_s=99999), max_attempts=8) == 1200
    assert retry_delay(8, busy, max_attempts=8) is None
    assert retry_delay(1, AttemptOutcome(ok=False, retryable=False), max_attempts=8) is None
    assert retry_delay(1, AttemptOutcome(ok=True, retryable=False), max_attempts=8) is None


def test_secrets_never_reach_the_logs(camera, receiver, caplog, settings):
    caplog.set_level(logging.DEBUG)
    settings.VIGIL_ACTION_MAX_ATTEMPTS = 2
    port = receiver.url.rsplit(":", 1)[1]
    url = f"http://vigil:{URL_PASSWORD}@127.0.0.1:{port}/services/{PATH_TOKEN}"
    receiver.statuses.extend([500])
    delivered = make_event(make_rule(camera, "Creds", webhook_url=url, webhook_secret=SIGNING_SECRET))
    refused = make_event(
        make_rule(
            camera, "Creds down", webhook_secret=SIGNING_SECRET,
            webhook_url=f"http://vigil:{URL_PASSWORD}@127.0.0.1:{closed_port()}/services/{PATH_TOKEN}",
        )
    )
    settings.VIGIL_MQTT_URL = f"mqtt://vigil:{MQTT_PASSWORD}@127.0.0.1:{closed_port()}"
    mqtt_event = make_event(make_rule(camera, "Mqtt down", mqtt_topic="vigil/x"))

    assert deliver_webhook_task.apply(args=[delivered.pk]).get()["outcome"] == "delivered"
    assert deliver_webhook_task.apply(args=[refused.pk]).get()["outcome"] == "failed"
    assert publish_mqtt_task.apply(args=[mqtt_event.pk]).get()["outcome"] == "failed"

    # the credentials in the URL went to the receiver as basic auth
    expected_auth = "Basic " + base64.b64encode(f"vigil:{URL_PASSWORD}".encode()).decode()
    assert receiver.requests[-1].headers["Authorization"] == expected_auth
    assert len(caplog.records) >= 6
    raw = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    formatted = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in (SIGNING_SECRET, URL_PASSWORD, PATH_TOKEN, MQTT_PASSWORD):
        assert secret not in raw
        assert secret not in formatted
    assert f"http://127.0.0.1:{port}" in formatted  # the target is named, by origin only


def test_an_event_or_webhook_gone_by_delivery_time_is_skipped(camera, receiver):
    rule = make_rule(camera, "Removed", webhook_url=receiver.url + "/")
    event = make_event(rule)
    Rule.objects.filter(pk=rule.pk).update(webhook_url="")
    assert deliver_webhook(event.pk).outcome == "skipped"
    assert deliver_webhook(987654321).outcome == "skipped"
    assert receiver.requests == []


# --- MQTT -----------------------------------------------------------------------------


def test_mqtt_publishes_the_event_to_the_rule_topic(camera, subscriber, settings):
    topic, received = subscriber
    settings.VIGIL_MQTT_URL = f"mqtt://vigil:{MQTT_PASSWORD}@{MQTT_HOST}:{MQTT_PORT}"
    event = make_event(make_rule(camera, "Publish", mqtt_topic=topic))

    result = publish_mqtt_task.apply(args=[event.pk]).get()

    assert result["outcome"] == "delivered" and result["target"] == f"mqtt://{MQTT_HOST}:{MQTT_PORT}"
    payload = json.loads(received.get(timeout=5))
    event = Event.objects.select_related("camera", "rule", "detection").get(pk=event.pk)
    assert payload == json.loads(json.dumps(event_message(event)))
    assert payload["event"]["id"] == event.pk and payload["rule"]["name"] == "Publish"


def test_mqtt_broker_unreachable_is_retried(camera, settings):
    settings.VIGIL_MQTT_URL = f"mqtt://127.0.0.1:{closed_port()}"
    event = make_event(make_rule(camera, "No broker", mqtt_topic="vigil/gate"))

    result = deliver_mqtt(event.pk)

    assert result.outcome == "retry" and result.retry_in_s is not None


def test_mqtt_topic_with_wildcards_fails_without_retry(camera, settings):
    settings.VIGIL_MQTT_URL = f"mqtt://{MQTT_HOST}:{MQTT_PORT}"
    event = make_event(make_rule(camera, "Bad topic", mqtt_topic="vigil/+/events"))

    assert deliver_mqtt(event.pk).outcome == "failed"


def test_mqtt_disabled_skips_with_one_warning_per_rule(camera, caplog):
    caplog.set_level(logging.WARNING, logger="events.actions")
    rule = make_rule(camera, "Topic only", mqtt_topic="vigil/gate")
    other = make_rule(camera, "Other topic", mqtt_topic="vigil/yard")
    first, second, third = make_event(rule), make_event(rule), make_event(other)

    results = [publish_mqtt_task.apply(args=[e.pk]).get() for e in (first, second, third)]

    assert [r["outcome"] for r in results] == ["skipped"] * 3
    warned = [r.rule_id for r in caplog.records if "VIGIL_MQTT_URL" in r.getMessage()]
    assert warned == [rule.pk, other.pk]


# --- enqueueing -----------------------------------------------------------------------


def queued_tasks(redis_client) -> list[tuple[str, int]]:
    """(task name, event id) of the messages waiting in the Celery queue ``default``."""
    tasks = []
    for raw in redis_client.lrange("default", 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args[0]))
    return sorted(tasks)


@pytest.fixture
def rules_with_and_without_actions(camera) -> dict[str, Rule]:
    return {
        "none": make_rule(camera, "Nothing"),
        "webhook": make_rule(camera, "Hook", webhook_url="http://127.0.0.1:9/hook"),
        "mqtt": make_rule(camera, "Topic", mqtt_topic="vigil/gate"),
        "both": make_rule(camera, "Both", webhook_url="http://127.0.0.1:9/hook", mqtt_topic="vigil/both"),
    }


def test_enqueue_only_for_rules_with_actions(rules_with_and_without_actions, redis_client):
    rules = rules_with_and_without_actions
    events = {key: make_event(rule) for key, rule in rules.items()}

    assert enqueue_actions(events.values()) == 4
    assert queued_tasks(redis_client) == sorted([
        ("workers.deliver_webhook", events["webhook"].pk),
        ("workers.deliver_webhook", events["both"].pk),
        ("workers.publish_mqtt", events["mqtt"].pk),
        ("workers.publish_mqtt", events["both"].pk),
    ])
    assert enqueue_actions([events["none"]]) == 0
    assert enqueue_actions([Event(camera=rules["webhook"].camera, rule=rules["webhook"])]) == 0  # not saved
    assert len(queued_tasks(redis_client)) == 4


def _outcome_firing(rules: dict[str, Rule]):
    """A frame on which every one of ``rules`` (all on one camera) fires, as the sink gets it."""
    from django.conf import settings

    from workers.camera_config import load_camera_configs
    from workers.pipeline.catalogue import CATALOGUE
    from workers.pipeline.detections import Detections
    from workers.pipeline.rules import RuleHit
    from workers.sinks import FrameOutcome

    spec = CATALOGUE[settings.VIGIL_DETECTOR_MODEL]
    config = load_camera_configs(spec.name, spec.class_names)[rules["none"].camera_id]
    detections = Detections(xyxy=[[10, 20, 60, 100]], confidence=[0.9], class_id=[0], tracker_id=[3])
    hits = [
        RuleHit(rule_id=rule.pk, tracker_id=3, index=0, confidence=0.9, class_id=0, evidence={"trigger": "seen"})
        for rule in rules.values()
    ]
    return spec, FrameOutcome(
        camera=config, image=np.zeros((120, 160, 3), np.uint8), captured_at=time.time(), detections=detections,
        hits=hits, publish_live=False,
    )


def test_the_sink_enqueues_delivery_for_the_events_it_writes(
    rules_with_and_without_actions, redis_client, settings, tmp_path
):
    from workers.sinks import Sink

    settings.VIGIL_MQTT_URL = f"mqtt://{MQTT_HOST}:{MQTT_PORT}"
    rules = rules_with_and_without_actions
    spec, outcome = _outcome_firing(rules)

    events = Sink(spec=spec, media_root=tmp_path, redis_client=redis_client).write([outcome])

    by_rule = {event.rule_id: event.pk for event in events}
    assert len(by_rule) == 4
    assert queued_tasks(redis_client) == sorted([
        ("workers.deliver_webhook", by_rule[rules["webhook"].pk]),
        ("workers.deliver_webhook", by_rule[rules["both"].pk]),
        ("workers.publish_mqtt", by_rule[rules["mqtt"].pk]),
        ("workers.publish_mqtt", by_rule[rules["both"].pk]),
    ])
    assert not PendingActions.objects.exists()  # enqueued: the outbox is clear


def test_actions_of_events_written_while_the_broker_was_down_are_enqueued_when_it_is_back(
    rules_with_and_without_actions, redis_client, tmp_path
):
    """Redis (the Celery broker) restarting when the sink commits: the events are stored, their
    deliveries wait in the outbox, and the beat's sweep enqueues them once Redis is back."""
    from workers.sinks import Sink

    rules = rules_with_and_without_actions
    spec, outcome = _outcome_firing(rules)
    sink = Sink(spec=spec, media_root=tmp_path, redis_client=redis_client)
    with redis_down():
        events = sink.write([outcome])
    by_rule = {event.rule_id: event.pk for event in events}
    assert set(Event.objects.values_list("pk", flat=True)) == set(by_rule.values())  # stored all the same
    with_actions = {by_rule[rules[key].pk] for key in ("webhook", "mqtt", "both")}
    assert set(PendingActions.objects.values_list("event_id", flat=True)) == with_actions
    assert queued_tasks(redis_client) == []

    assert enqueue_pending_actions() == 0  # too recent: the sink may still be enqueueing them
    assert enqueue_pending_actions(older_than_s=0) == 4
    assert queued_tasks(redis_client) == sorted([
        ("workers.deliver_webhook", by_rule[rules["webhook"].pk]),
        ("workers.deliver_webhook", by_rule[rules["both"].pk]),
        ("workers.publish_mqtt", by_rule[rules["mqtt"].pk]),
        ("workers.publish_mqtt", by_rule[rules["both"].pk]),
    ])
    assert not PendingActions.objects.exists()
    assert enqueue_pending_actions(older_than_s=0) == 0  # nothing twice


def test_a_pending_event_whose_rule_lost_its_actions_leaves_the_outbox_without_a_task(
    rules_with_and_without_actions, redis_client
):
    rules = rules_with_and_without_actions
    kept, emptied, deleted = make_event(rules["webhook"]), make_event(rules["mqtt"]), make_event(rules["both"])
    assert len(record_pending_actions([kept, emptied, deleted, make_event(rules["none"])])) == 3
    Rule.objects.filter(pk=rules["mqtt"].pk).update(mqtt_topic="")
    rules["both"].delete()

    assert enqueue_pending_actions(older_than_s=0) == 1
    assert queued_tasks(redis_client) == [("workers.deliver_webhook", kept.pk)]
    assert not PendingActions.objects.exists()
