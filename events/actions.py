"""Rule actions: an event goes to its rule's webhook and MQTT topic.

The sink records the events whose rule has a webhook URL or an MQTT topic in an outbox
(:class:`events.models.PendingActions`, :func:`record_pending_actions`) in the transaction
that stores them, and calls :func:`enqueue_actions` after the commit; it enqueues one
Celery task per action (``workers.deliver_webhook``, ``workers.publish_mqtt``) and clears
the outbox rows. What could not be enqueued (the broker restarting, the worker killed
after the commit) is enqueued by the beat (:func:`enqueue_pending_actions`). Each task makes one attempt through
:func:`deliver_webhook` or :func:`deliver_mqtt` and asks Celery to retry when the attempt
failed in a way that may pass (capped exponential backoff with jitter, see
:func:`backoff_seconds`). Webhook and MQTT are separate tasks so that a broker outage does
not re-send a webhook that was already delivered, and the other way round.

Delivery is at least once: a worker that dies after the receiver answered but before the
task was acknowledged delivers again. Receivers dedupe on ``X-Vigil-Event`` (the event id).

The message (the same JSON for both actions)::

    {
      "type": "event.created",
      "event": {...},      # events.payloads.event_payload; its links (snapshot_url,
                           # event_url) absolute when VIGIL_PUBLIC_URL is set
      "rule": {"id": 3, "name": "Gate at night", "trigger": "enter", "severity": "critical"},
      "evidence": {...}    # why the rule fired (Event.evidence)
    }

Webhook requests are ``POST`` with ``Content-Type: application/json`` and headers
``X-Vigil-Event`` (event id), ``X-Vigil-Timestamp`` (Unix seconds of this attempt) and,
when the rule has a secret, ``X-Vigil-Signature: sha256=<hex>``: the HMAC-SHA256, keyed
with the secret, of ``"<timestamp>.<raw body>"``. A receiver verifies it like this::

    import hashlib, hmac, time

    def verify(secret: bytes, headers, raw_body: bytes, tolerance_s: int = 300) -> bool:
        timestamp = headers["X-Vigil-Timestamp"]
        if abs(time.time() - int(timestamp)) > tolerance_s:
            return False  # too old (or a clock far off): refuse replays
        expected = hmac.new(secret, timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()
        return hmac.compare_digest("sha256=" + expected, headers["X-Vigil-Signature"])

Sign the raw body as received, never a re-serialised JSON. Each retry has a new timestamp
and signature. Credentials in the webhook URL (``https://user:pass@host/``) are sent as
HTTP basic auth. Redirects are not followed.

What is retried: connection errors, timeouts, 408, 429 and 5xx (webhook); connection
errors, refused connections other than bad credentials, and missing PUBACKs (MQTT).
Anything else (other 3xx/4xx, a bad URL or topic, bad MQTT credentials) fails at once.

Logs name the target by scheme, host and port only: a webhook's path is often its secret
(``https://hooks.example.com/services/T0/B0/XXXX``), and credentials never leave this module.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone as django_timezone
from paho.mqtt.enums import CallbackAPIVersion

from cameras.models import Rule
from events.models import Event, PendingActions
from events.payloads import event_payload
from vision.logs import redact

log = logging.getLogger(__name__)

Action = Literal["webhook", "mqtt"]

# Backoff before retry n (1-based): min(CAP, BASE * 2**(n-1)), then "equal jitter" (half
# fixed, half random). With 8 attempts the 7 waits add up to 36-71 minutes. CAP stays well
# below the Redis transport's visibility timeout (1 h): a task held for its countdown longer
# than that would be delivered to a second worker as well.
RETRY_BASE_S = 60.0
RETRY_CAP_S = 1200.0
USER_AGENT = "Vigil-Webhook/1"
_MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one attempt, logged and returned by the Celery task."""

    action: Action
    event_id: int
    rule_id: int | None
    attempt: int
    outcome: Literal["delivered", "retry", "failed", "skipped"]
    target: str = ""  # scheme://host:port, never credentials or path
    status: int | None = None  # HTTP status
    detail: str = ""
    retry_in_s: float | None = None  # set when outcome is "retry"
    elapsed_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AttemptOutcome:
    """What one network attempt came to, before the retry decision."""

    ok: bool
    retryable: bool
    detail: str = ""
    status: int | None = None
    retry_after_s: float | None = None  # a server's Retry-After


# --- message --------------------------------------------------------------------------


def public_url(relative: str) -> str:
    """``relative`` made absolute with VIGIL_PUBLIC_URL; unchanged when that is not set.

    The links need a signed-in browser: the media and event pages require a login.
    """
    base = settings.VIGIL_PUBLIC_URL.rstrip("/")
    if not base or not relative:
        return relative
    return base + (relative if relative.startswith("/") else "/" + relative)


def event_message(event: Event) -> dict[str, Any]:
    """The JSON both actions send. Needs ``event.camera``, ``.rule`` and ``.detection`` loaded."""
    payload: dict[str, Any] = dict(event_payload(event, event.camera.name))
    for key, value in payload.items():  # snapshot_url, event_url: links the receiver can follow
        if key.endswith("_url") and isinstance(value, str):
            payload[key] = public_url(value)
    rule = event.rule
    return {
        "type": "event.created",
        "event": payload,
        "rule": {
            "id": event.rule_id,
            "name": rule.name if rule is not None else event.rule_name,
            "trigger": rule.trigger if rule is not None else "",
            "severity": event.severity,
        },
        "evidence": event.evidence or {},
    }


def encode_message(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Vigil-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_headers(event_id: int, body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Vigil-Event": str(event_id),
        "X-Vigil-Timestamp": ts,
    }
    if secret:
        headers["X-Vigil-Signature"] = sign(secret, ts, body)
    return headers


# --- retry policy ---------------------------------------------------------------------


def backoff_seconds(
    retry: int, *, base: float = RETRY_BASE_S, cap: float = RETRY_CAP_S, rand: Callable[[], float] = random.random
) -> float:
    """Wait before retry number ``retry`` (1 = the second attempt): capped exponential, equal jitter.

    Jitter spreads the retries of many events that failed together (a receiver that was
    down) so they do not all come back in the same second.
    """
    ceiling = min(cap, base * 2 ** max(0, retry - 1))
    return ceiling / 2 + rand() * ceiling / 2


def retry_delay(attempt: int, outcome: AttemptOutcome, *, max_attempts: int | None = None) -> float | None:
    """Seconds until the next attempt, or ``None`` when there is none (done, permanent, used up)."""
    limit = settings.VIGIL_ACTION_MAX_ATTEMPTS if max_attempts is None else max_attempts
    if outcome.ok or not outcome.retryable or attempt >= limit:
        return None
    delay = backoff_seconds(attempt)
    if outcome.retry_after_s is not None:  # the server asked for longer: honour it, within the cap
        delay = max(delay, min(outcome.retry_after_s, RETRY_CAP_S))
    return delay


def http_status_retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# --- webhook --------------------------------------------------------------------------


def safe_target(url: str) -> str:
    """``scheme://host:port`` of ``url``: what logs may say about a target."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        host = parts.hostname or ""
    except ValueError:
        return "<invalid url>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}"


def _safe_error(err: BaseException, *secrets: str) -> str:
    text = f"{type(err).__name__}: {err}"
    for secret in secrets:
        if len(secret) >= 4:  # a path of "/" is no secret, and replacing it would garble the text
            text = text.replace(secret, "***")
    return redact(text)[:300]


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> AttemptOutcome:
    """One POST with ``http.client``: no redirects followed, ``timeout`` per socket operation."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as err:
        return AttemptOutcome(ok=False, retryable=False, detail=f"invalid URL: {type(err).__name__}")
    if parts.scheme not in ("http", "https") or not host:
        return AttemptOutcome(ok=False, retryable=False, detail="invalid URL: needs http(s)://host")
    headers = dict(headers)
    if parts.username is not None:
        userinfo = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(userinfo.encode()).decode()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(_MAX_RESPONSE_BYTES)
        status = response.status
        if 200 <= status < 300:
            return AttemptOutcome(ok=True, retryable=False, status=status, detail=f"HTTP {status}")
        return AttemptOutcome(
            ok=False,
            retryable=http_status_retryable(status),
            status=status,
            detail=f"HTTP {status}",
            retry_after_s=_retry_after(response.getheader("Retry-After")) if status in (429, 503) else None,
        )
    except (OSError, http.client.HTTPException) as err:  # refused, reset, DNS, TLS, timeout
        return AttemptOutcome(ok=False, retryable=True, detail=_safe_error(err, url, parts.password or "", path))
    finally:
        connection.close()


def _load_event(event_id: int) -> Event | None:
    return Event.objects.select_related("camera", "rule", "detection").filter(pk=event_id).first()


def _finish(
    action: Action, event: Event, attempt: int, outcome: AttemptOutcome, target: str, started: float,
    max_attempts: int | None,
) -> DeliveryResult:
    """Decide about a retry, log the attempt, and say how it went."""
    delay = retry_delay(attempt, outcome, max_attempts=max_attempts)
    if outcome.ok:
        result_outcome = "delivered"
    elif delay is not None:
        result_outcome = "retry"
    else:
        result_outcome = "failed"
    result = DeliveryResult(
        action=action,
        event_id=event.pk,
        rule_id=event.rule_id,
        attempt=attempt,
        outcome=result_outcome,  # type: ignore[arg-type]
        target=target,
        status=outcome.status,
        detail=outcome.detail,
        retry_in_s=round(delay, 1) if delay is not None else None,
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
    )
    fields = result.as_dict()
    if result.outcome == "delivered":
        log.info("%s delivered", action, extra=fields)
    elif result.outcome == "retry":
        log.warning("%s attempt failed; will retry", action, extra=fields)
    elif not outcome.retryable:
        log.error("%s failed; not retried", action, extra=fields)
    else:
        log.error("%s failed; gave up after %d attempts", action, attempt, extra=fields)
    return result


def _skipped(action: Action, event_id: int, rule_id: int | None, attempt: int, why: str) -> DeliveryResult:
    log.info("%s skipped: %s", action, why, extra={"event_id": event_id, "rule_id": rule_id, "attempt": attempt})
    return DeliveryResult(action, event_id, rule_id, attempt, "skipped", detail=why)


def deliver_webhook(
    event_id: int, *, attempt: int = 1, max_attempts: int | None = None, timeout: float | None = None
) -> DeliveryResult:
    """One attempt to POST an event to its rule's webhook.

    The rule is read now, not when the event was made: a webhook removed or re-pointed in
    the meantime wins, and neither URL nor secret travels through the Celery broker.
    """
    event = _load_event(event_id)
    if event is None:
        return _skipped("webhook", event_id, None, attempt, "event no longer exists")
    rule = event.rule
    if rule is None or not rule.webhook_url:
        return _skipped("webhook", event_id, event.rule_id, attempt, "rule has no webhook any more")
    started = time.monotonic()
    body = encode_message(event_message(event))
    headers = webhook_headers(event.pk, body, rule.webhook_secret)
    outcome = post_json(
        rule.webhook_url, body, headers, timeout=settings.VIGIL_ACTION_TIMEOUT if timeout is None else timeout
    )
    return _finish("webhook", event, attempt, outcome, safe_target(rule.webhook_url), started, max_attempts)


# --- MQTT -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @property
    def safe(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """``mqtt://user:pass@host:1883`` or ``mqtts://host`` (TLS, port 8883 by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("VIGIL_MQTT_URL must be mqtt://host[:port] or mqtts://host[:port]")
    tls = parts.scheme == "mqtts"
    return MqttTarget(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )


# Names of MQTT CONNACK refusals that retrying cannot fix (paho ReasonCode names).
_MQTT_PERMANENT_REFUSALS = {"Bad user name or password", "Not authorized", "Unsupported protocol version"}


def mqtt_publish(target: MqttTarget, topic: str, body: bytes, *, timeout: float) -> AttemptOutcome:
    """Connect, publish with QoS 1, wait for the broker's PUBACK, disconnect.

    A connection per publish, not a long-lived client: events are rare (rules have
    cooldowns), the Celery worker forks its pool processes (a client and its network
    thread made before the fork do not survive it), and success then means exactly "the
    broker acknowledged this message" before the task is acknowledged, with no
    reconnect logic or in-flight queue of a shared client to reason about.
    """
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"vigil-{uuid.uuid4().hex[:16]}",
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    client.connect_timeout = timeout
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        client.tls_set_context(ssl.create_default_context())
    connack: dict[str, Any] = {}
    connected = threading.Event()

    def on_connect(_client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        connack["reason"] = reason_code
        connected.set()

    client.on_connect = on_connect
    secrets = (target.password or "",)
    try:
        client.connect(target.host, target.port, keepalive=max(10, int(timeout * 4)))
    except (OSError, ValueError) as err:
        return AttemptOutcome(ok=False, retryable=True, detail=_safe_error(err, *secrets))
    client.loop_start()
    try:
        if not connected.wait(timeout):
            return AttemptOutcome(ok=False, retryable=True, detail="no CONNACK from the broker")
        reason = connack["reason"]
        if reason.is_failure:
            name = str(reason)
            return AttemptOutcome(
                ok=False, retryable=name not in _MQTT_PERMANENT_REFUSALS, detail=f"connection refused: {name}"
            )
        try:
            info = client.publish(topic, body, qos=1)
        except ValueError as err:  # empty topic, wildcards in the topic, payload too large
            return AttemptOutcome(ok=False, retryable=False, detail=_safe_error(err, *secrets))
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as err:
            return AttemptOutcome(ok=False, retryable=True, detail=_safe_error(err, *secrets))
        if not info.is_published():
            return AttemptOutcome(ok=False, retryable=True, detail="no PUBACK from the broker")
        return AttemptOutcome(ok=True, retryable=False, detail="PUBACK")
    finally:
        client.disconnect()
        client.loop_stop()


_mqtt_disabled_warned: set[int] = set()
_mqtt_disabled_lock = threading.Lock()


def warn_mqtt_disabled(rule_id: int | None) -> None:
    """Log, once per rule and process (each pool process of a task worker), that a rule's
    MQTT topic is ignored: a warning per event would flood the logs of a busy camera."""
    with _mqtt_disabled_lock:
        if rule_id in _mqtt_disabled_warned:
            return
        _mqtt_disabled_warned.add(rule_id)  # type: ignore[arg-type]
    log.warning("rule has an MQTT topic but VIGIL_MQTT_URL is not set: not published", extra={"rule_id": rule_id})


def deliver_mqtt(
    event_id: int, *, attempt: int = 1, max_attempts: int | None = None, timeout: float | None = None
) -> DeliveryResult:
    """One attempt to publish an event to its rule's MQTT topic on the VIGIL_MQTT_URL broker."""
    event = _load_event(event_id)
    if event is None:
        return _skipped("mqtt", event_id, None, attempt, "event no longer exists")
    rule = event.rule
    if rule is None or not rule.mqtt_topic:
        return _skipped("mqtt", event_id, event.rule_id, attempt, "rule has no MQTT topic any more")
    if not settings.VIGIL_MQTT_URL:
        warn_mqtt_disabled(rule.pk)
        return DeliveryResult("mqtt", event_id, rule.pk, attempt, "skipped", detail="MQTT is disabled")
    target = parse_mqtt_url(settings.VIGIL_MQTT_URL)  # checked at start-up by the settings
    started = time.monotonic()
    body = encode_message(event_message(event))
    outcome = mqtt_publish(
        target, rule.mqtt_topic, body, timeout=settings.VIGIL_ACTION_TIMEOUT if timeout is None else timeout
    )
    return _finish("mqtt", event, attempt, outcome, target.safe, started, max_attempts)


# --- enqueueing -----------------------------------------------------------------------


def _rule_actions(rule_ids: set[int]) -> dict[int, tuple[bool, bool]]:
    """(webhook, MQTT) of each of these rules that has an action."""
    return {
        pk: (bool(webhook), bool(topic))
        for pk, webhook, topic in Rule.objects.filter(pk__in=rule_ids)
        .filter(~Q(webhook_url="") | ~Q(mqtt_topic=""))
        .values_list("pk", "webhook_url", "mqtt_topic")
    }


def record_pending_actions(events: Iterable[Event]) -> list[Event]:
    """In the transaction that saves ``events``: an outbox row (:class:`PendingActions`) for
    each whose rule has a webhook or an MQTT topic; those events, for :func:`enqueue_actions`."""
    with_rule = [e for e in events if e.rule_id is not None and e.pk is not None]
    if not with_rule:
        return []
    actions = _rule_actions({e.rule_id for e in with_rule})  # type: ignore[misc]
    due = [e for e in with_rule if e.rule_id in actions]
    PendingActions.objects.bulk_create([PendingActions(event_id=e.pk) for e in due])
    return due


def enqueue_actions(events: Iterable[Event]) -> int:
    """Enqueue a delivery task per action of each (saved) event's rule; how many were enqueued.

    Called after the events' transaction committed, so a task always finds its event. One
    query, and only for batches with events. The outbox rows of the events whose tasks are
    all enqueued (or that have none any more: the rule lost its actions or was deleted) are
    deleted; when the broker cannot be reached, the rest stay for
    :func:`enqueue_pending_actions`. A database error costs nothing either: the rows stay,
    and an event may be delivered twice (receivers dedupe on ``X-Vigil-Event``).
    """
    from workers.tasks import deliver_webhook_task, publish_mqtt_task  # the tasks call this module

    saved = [e for e in events if e.pk is not None]
    if not saved:
        return 0
    try:
        actions = _rule_actions({e.rule_id for e in saved if e.rule_id is not None})
    except DatabaseError:  # the events are committed: never fail the batch that wrote them
        log.exception("rule actions not enqueued now; the outbox keeps them", extra={"events": len(saved)})
        return 0
    enqueued = 0
    done: list[int] = []  # events whose tasks are all enqueued
    for event in saved:
        webhook, topic = actions.get(event.rule_id, (False, False))  # type: ignore[arg-type]
        tasks = [task for task, wanted in ((deliver_webhook_task, webhook), (publish_mqtt_task, topic)) if wanted]
        try:  # MQTT even when it is off here: the task worker's VIGIL_MQTT_URL is the one that counts
            for task in tasks:
                task.apply_async((event.pk,))
                enqueued += 1
        except Exception as err:  # the broker is down: do not wait on it once per action
            log.error("rule actions not enqueued now; the outbox keeps them", extra={
                "event_id": event.pk, "events_left": len(saved) - len(done), "error": _safe_error(err),
            })
            break
        done.append(event.pk)
    try:
        PendingActions.objects.filter(event_id__in=done).delete()
    except DatabaseError:
        log.exception("outbox rows not cleared; their events may be delivered twice", extra={"events": done})
    return enqueued


def enqueue_pending_actions(older_than_s: float = 30.0, limit: int = 500) -> int:
    """Enqueue the actions of the events left in the outbox for more than ``older_than_s``
    (their enqueue after commit failed, or the worker died before it); how many tasks.

    The age leaves the sink the time to enqueue what it has just committed. Run by the
    beat (one per deployment) every ``VIGIL_ACTIONS_SWEEP_SECONDS``.
    """
    cutoff = django_timezone.now() - timedelta(seconds=older_than_s)
    pending = PendingActions.objects.filter(created_at__lt=cutoff).order_by("created_at").values("event_id")[:limit]
    events = list(Event.objects.filter(pk__in=pending).order_by("pk"))
    if not events:
        return 0
    enqueued = enqueue_actions(events)
    log.info("pending rule actions enqueued", extra={"events": len(events), "tasks": enqueued})
    return enqueued
