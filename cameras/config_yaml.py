"""Configuration as code: every camera, with its regions and rules, as one YAML document.

Export writes a stable document (fixed key order, everything sorted by name), so
export → import → export is byte-identical and a diff in version control shows only
what changed. Stream passwords and webhook secrets are written as ``***`` unless asked
for: exports get shared and committed. Importing ``***`` keeps the stored value.

Import checks the whole document with the API's own serializers (nothing is saved while
checking), reports every problem with its path (``cameras[1].regions[0].points``), and
only when there is none applies it in one transaction. Cameras are matched by name
(case-insensitive), regions and rules by (camera, name). Keys left out of an entry keep
the stored value (or the default, for a new entry); ``regions:``/``rules:`` left out
mean none. Mode "merge" keeps what the file does not mention; "replace" deletes it.

New cameras get exactly the rules the file lists: unlike adding a camera in the UI,
no default "Person seen" rule, so that a file imported into an empty system exports
back unchanged.
"""
from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import yaml
from django.db import IntegrityError, models, transaction
from rest_framework import serializers
from rest_framework.settings import api_settings

from cameras.api import CameraSerializer, RegionSerializer, RuleSerializer
from cameras.models import Camera, Region, Rule
from cameras.validation import REDACTED
from events.publisher import publish_camera_changed

FORMAT_VERSION = 1
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
# YAML aliases can make a small document expand into a huge (or endless) structure:
# the import walks at most this many values before giving up on the document.
MAX_VALUES = 200_000

CAMERA_KEYS = (
    "name", "description", "enabled", "stream_url", "model_name", "detect_fps", "detect_width", "timezone",
    "object_settings",
)
REGION_KEYS = ("name", "kind", "points", "direction", "color")
RULE_KEYS = (
    "name", "description", "enabled", "trigger", "region", "object_classes", "min_confidence", "anchor",
    "duration_seconds", "min_count", "schedule", "cooldown_seconds", "stationary_guard", "severity",
    "notify_operators", "webhook_url", "webhook_secret", "mqtt_topic",
)
_OBJECT_SETTING_ORDER = ("min_confidence", "min_area", "max_area")
_WINDOW_ORDER = ("days", "start", "end")
_TOP_KEYS = ("version", "cameras")

_HEADER_REDACTED = (
    "# Vigil configuration: cameras, their regions and rules.\n"
    "# Passwords and webhook secrets read ***: importing *** keeps the stored value.\n"
)
_HEADER_SECRETS = (
    "# Vigil configuration: cameras, their regions and rules.\n"
    "# Contains stream passwords and webhook secrets: keep this file private.\n"
)


class Mode(enum.StrEnum):
    MERGE = "merge"  # what the file does not mention is kept
    REPLACE = "replace"  # what the file does not mention is deleted


@dataclass(frozen=True)
class ConfigError:
    path: str  # "cameras[1].regions[0].points"; "" for the document as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigInvalid(Exception):
    """The document was not applied; ``errors`` says everything that is wrong with it."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the configuration")
        self.errors = errors


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


@dataclass
class ImportSummary:
    mode: Mode
    dry_run: bool
    cameras: Counts = field(default_factory=Counts)
    regions: Counts = field(default_factory=Counts)
    rules: Counts = field(default_factory=Counts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": str(self.mode),
            "dry_run": self.dry_run,
            "changes": {kind: vars(getattr(self, kind)).copy() for kind in ("cameras", "regions", "rules")},
        }

    def describe(self) -> str:
        """One line per kind, for the management command."""
        lines = []
        for kind in ("cameras", "regions", "rules"):
            c: Counts = getattr(self, kind)
            lines.append(f"{kind}: {c.created} created, {c.updated} updated, {c.deleted} deleted, {c.unchanged} unchanged")
        return "\n".join(lines)


# --- Export --------------------------------------------------------------------------


def redact_password(url: str) -> str:
    """``rtsp://user:secret@host/s`` → ``rtsp://user:***@host/s``: what clean_stream_url restores."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit((parts.scheme, f"{user}:{REDACTED}@{hostport}", parts.path, parts.query, parts.fragment))


def _by_name(items: Iterable[Any]) -> list[Any]:
    return sorted(items, key=lambda item: (item.name.casefold(), item.name))


def _ordered(mapping: Mapping[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    """Known keys in a fixed order, then any others sorted: jsonb does not keep key order."""
    keys = [k for k in first if k in mapping] + sorted(k for k in mapping if k not in first)
    return {k: mapping[k] for k in keys}


def _camera_doc(camera: Camera, include_secrets: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {key: getattr(camera, key) for key in CAMERA_KEYS}
    if not include_secrets:
        doc["stream_url"] = redact_password(camera.stream_url)
    doc["object_settings"] = {
        name: _ordered(camera.object_settings[name], _OBJECT_SETTING_ORDER) for name in sorted(camera.object_settings)
    }
    doc["regions"] = [{key: getattr(region, key) for key in REGION_KEYS} for region in _by_name(camera.regions.all())]
    doc["rules"] = [_rule_doc(rule, include_secrets) for rule in _by_name(camera.rules.all())]
    return doc


def _rule_doc(rule: Rule, include_secrets: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {key: getattr(rule, key) for key in RULE_KEYS}
    doc["region"] = rule.region.name if rule.region else None
    doc["schedule"] = [_ordered(window, _WINDOW_ORDER) for window in rule.schedule or []]
    if rule.webhook_secret and not include_secrets:
        doc["webhook_secret"] = REDACTED
    return doc


def export_config(*, include_secrets: bool = False) -> str:
    """The whole configuration as YAML text."""
    cameras = Camera.objects.prefetch_related("regions", "rules__region")
    document = {
        "version": FORMAT_VERSION,
        "cameras": [_camera_doc(camera, include_secrets) for camera in _by_name(cameras)],
    }
    # default_flow_style=None: lists of plain values (points, classes, days) on one line.
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    return (_HEADER_SECRETS if include_secrets else _HEADER_REDACTED) + body


# --- Reading the document -------------------------------------------------------------


def size_problem(source: str | bytes) -> ConfigError | None:
    """Whether the document is over the size limit (checked before parsing anything)."""
    size = len(source.encode() if isinstance(source, str) else source)
    if size <= MAX_DOCUMENT_BYTES:
        return None
    limit_mb = MAX_DOCUMENT_BYTES // (1024 * 1024)
    return ConfigError("", f"The document is over the size limit of {limit_mb} MB ({size:,} bytes or more).")


def _text_of(source: str | bytes) -> str:
    too_large = size_problem(source)
    if too_large is not None:
        raise ConfigInvalid([too_large])
    if isinstance(source, str):
        return source
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigInvalid([ConfigError("", f"The document is not UTF-8 text (byte {err.start}).")]) from err


def _too_many_values(value: Any, budget: int = MAX_VALUES) -> bool:
    """Whether ``value`` holds more than ``budget`` values, counting each alias use again."""
    stack = [value]
    while stack:
        budget -= 1
        if budget < 0:
            return True
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _syntax_message(err: yaml.MarkedYAMLError) -> str:
    """Where the parser gave up, and where the construct it was reading began."""
    mark = err.problem_mark or err.context_mark
    message = f"YAML syntax error at {_where(mark)}: {err.problem or err.context}" if mark else f"YAML syntax error: {err}"
    if err.context and err.context_mark and err.problem:
        message += f" ({err.context} at {_where(err.context_mark)})"
    return message + "."


def parse_document(source: str | bytes) -> Any:
    """``yaml.safe_load`` with a size limit, and syntax errors given by line and column."""
    text = _text_of(source)
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        raise ConfigInvalid([ConfigError("", _syntax_message(err))]) from err
    except yaml.YAMLError as err:
        raise ConfigInvalid([ConfigError("", f"YAML syntax error: {err}")]) from err
    if _too_many_values(document):
        raise ConfigInvalid([ConfigError("", f"The document holds more than {MAX_VALUES:,} values (aliases count each time).")])
    return document


# --- Checking ----------------------------------------------------------------------------


class _Given(serializers.Field):
    """Takes a model instance that the import resolved itself (by name, or not saved yet)."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return getattr(value, "pk", None)


class _ImportRegionSerializer(RegionSerializer):
    camera = _Given()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # RegionSerializer raises shape problems without a field name (non_field_errors);
        # they are about the points. A no-op once it names the field itself.
        try:
            return super().validate(attrs)
        except serializers.ValidationError as err:
            if isinstance(err.detail, list):
                raise serializers.ValidationError({"points": err.detail}) from err
            raise


class _ImportRuleSerializer(RuleSerializer):
    camera = _Given()
    region = _Given(allow_null=True)


M = TypeVar("M", bound=models.Model)


@dataclass
class _Entry:
    """One camera, region or rule of the file, checked."""

    path: str
    key: str  # casefolded name
    existing: Any  # the stored object it updates, or None
    attrs: dict[str, Any]  # validated values

    @property
    def changed(self) -> bool:
        return self.existing is None or any(
            _differs(self.existing, name, value) for name, value in self.attrs.items() if name != "camera"
        )


def _differs(existing: models.Model, name: str, value: Any) -> bool:
    if name == "region":
        current = existing.region.name.casefold() if existing.region else None  # type: ignore[attr-defined]
        return current != (value.name.casefold() if value is not None else None)
    return getattr(existing, name) != value


@dataclass
class _CameraEntry(_Entry):
    regions: list[_Entry] = field(default_factory=list)
    rules: list[_Entry] = field(default_factory=list)


@dataclass
class _Plan:
    cameras: list[_CameraEntry] = field(default_factory=list)
    deleted_cameras: list[Camera] = field(default_factory=list)
    deleted_regions: list[Region] = field(default_factory=list)
    deleted_rules: list[Rule] = field(default_factory=list)


def _flatten(detail: Any, path: str) -> Iterator[ConfigError]:
    """DRF's nested error detail as one error per message, each with its path."""
    if isinstance(detail, dict):
        for key, sub in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                yield from _flatten(sub, path)
            elif isinstance(key, int):
                yield from _flatten(sub, f"{path}[{key}]")
            else:
                yield from _flatten(sub, f"{path}.{key}" if path else str(key))
    elif isinstance(detail, list):
        for index, sub in enumerate(detail):
            if isinstance(sub, dict | list):
                yield from _flatten(sub, f"{path}[{index}]")
            else:
                yield ConfigError(path, str(sub))
    else:
        yield ConfigError(path, str(detail))


def _base(existing: models.Model | None, keys: tuple[str, ...]) -> dict[str, Any]:
    """The stored values of an entry the file updates: keys the file leaves out keep them."""
    if existing is None:
        return {}
    values = {key: getattr(existing, key) for key in keys if key != "webhook_secret"}
    if "region" in keys:
        region = existing.region  # type: ignore[attr-defined]
        values["region"] = region.name if region else None
    return values


def _known(entry: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The entry's recognised keys (unknown ones are reported separately)."""
    return {key: value for key, value in entry.items() if key in keys}


def _name_key(entry: Mapping[str, Any]) -> str | None:
    name = entry.get("name")
    return name.strip().casefold() if isinstance(name, str) and name.strip() else None


_UNRESOLVED = object()  # a rule's region name that names no region: already reported


class _Checker:
    """Walks the document, collecting every error; builds the plan of what would change."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.errors: list[ConfigError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(ConfigError(path, message))

    # Shape of the document ------------------------------------------------------------

    def mapping(self, value: Any, path: str, keys: Iterable[str], what: str) -> bool:
        if not isinstance(value, dict):
            self.error(path, f"Expected {what} (a mapping of keys to values).")
            return False
        allowed = set(keys)
        for key in value:
            if key not in allowed:
                self.error(f"{path}.{key}" if path else str(key), f"Unknown key; expected one of: {', '.join(sorted(allowed))}.")
        return True

    def listing(self, value: Any, path: str, what: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"Expected a list of {what}.")
            return []
        return value

    def named(self, entries: list[Any], path: str, keys: Iterable[str], what: str) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        """Each well-formed entry with its path and name key; duplicated names are errors."""
        seen: dict[str, str] = {}
        for index, entry in enumerate(entries):
            entry_path = f"{path}[{index}]"
            if not self.mapping(entry, entry_path, keys, f"a {what}"):
                continue
            key = _name_key(entry)
            if key is not None and key in seen:
                self.error(f"{entry_path}.name", f"“{entry['name'].strip()}” is already at {seen[key]}; names are compared ignoring case.")
                continue
            if key is not None:
                seen[key] = entry_path
            yield entry_path, entry, key

    def top(self, document: Any) -> list[Any]:
        if document is None:
            self.error("", "The document is empty: expected “cameras:” with a list of cameras.")
            return []
        if not self.mapping(document, "", _TOP_KEYS, "“version” and “cameras” at the top"):
            return []
        version = document.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            self.error("version", f"Unsupported version {version!r}; this Vigil reads version {FORMAT_VERSION}.")
        if "cameras" not in document:
            self.error("cameras", "Missing: the list of cameras.")
            return []
        if document["cameras"] is None:  # an empty "cameras:" is more likely a slip than "delete them all"
            self.error("cameras", "Expected a list of cameras; write “cameras: []” for none.")
            return []
        return self.listing(document["cameras"], "cameras", "cameras")

    # Serializers ----------------------------------------------------------------------

    def validated(self, serializer: serializers.Serializer, path: str, skip: Iterable[str] = ()) -> dict[str, Any] | None:
        """Run one of the API's serializers (nothing is saved); ``skip``: fields already reported."""
        if serializer.is_valid():
            return dict(serializer.validated_data)
        for error in _flatten(serializer.errors, path):
            field_name = error.path[len(path) + 1:].split(".")[0].split("[")[0]
            if field_name not in skip:
                self.errors.append(error)
        return None

    # Cameras ------------------------------------------------------------------------------

    def plan(self, document: Any) -> _Plan:
        cameras = self.top(document)
        stored = {camera.name.casefold(): camera for camera in Camera.objects.prefetch_related("regions", "rules__region")}
        plan = _Plan()
        for index, (path, entry, key) in enumerate(
            self.named(cameras, "cameras", (*CAMERA_KEYS, "regions", "rules"), "camera")
        ):
            plan.cameras.append(self.camera(path, entry, key, stored.get(key) if key else None, stand_in_pk=-1 - index))
        if self.mode is Mode.REPLACE:
            self.plan_deletions(plan, stored)
        return plan

    def plan_deletions(self, plan: _Plan, stored: dict[str, Camera]) -> None:
        """Replace mode: what the file leaves out goes."""
        in_file = {checked.key for checked in plan.cameras}
        plan.deleted_cameras = [camera for key, camera in stored.items() if key not in in_file]
        for camera in plan.deleted_cameras:
            # Listed one by one: Rule.region is PROTECT, so a camera whose rules use its
            # regions cannot be deleted in one cascade.
            plan.deleted_rules += camera.rules.all()
            plan.deleted_regions += camera.regions.all()
        for checked in plan.cameras:
            if checked.existing is not None:
                plan.deleted_regions += self.left_out(checked.existing.regions.all(), checked.regions)
                plan.deleted_rules += self.left_out(checked.existing.rules.all(), checked.rules)

    @staticmethod
    def left_out(stored: Iterable[M], entries: list[_Entry]) -> list[M]:
        in_file = {entry.key for entry in entries}
        return [item for item in stored if item.name.casefold() not in in_file]  # type: ignore[attr-defined]

    def camera(self, path: str, entry: dict[str, Any], key: str | None, existing: Camera | None, stand_in_pk: int) -> _CameraEntry:
        data = _base(existing, CAMERA_KEYS) | _known(entry, CAMERA_KEYS)
        attrs = self.validated(CameraSerializer(instance=existing, data=data), path)
        camera = self.stand_in_camera(existing, attrs, entry, stand_in_pk)
        checked = _CameraEntry(path, key or "", existing, attrs or {})
        stored_regions = {r.name.casefold(): r for r in existing.regions.all()} if existing else {}
        stored_rules = {r.name.casefold(): r for r in existing.rules.all()} if existing else {}
        file_regions: dict[str, Region] = {}
        for region_path, region_entry, region_key in self.named(
            self.listing(entry.get("regions"), f"{path}.regions", "regions"), f"{path}.regions", REGION_KEYS, "region"
        ):
            region = self.region(region_path, region_entry, region_key, stored_regions.get(region_key or ""), camera)
            checked.regions.append(region)
            if region_key:
                file_regions[region_key] = self.stand_in_region(region, region_entry, camera)
        usable_regions = file_regions if self.mode is Mode.REPLACE else stored_regions | file_regions
        for rule_path, rule_entry, rule_key in self.named(
            self.listing(entry.get("rules"), f"{path}.rules", "rules"), f"{path}.rules", RULE_KEYS, "rule"
        ):
            checked.rules.append(
                self.rule(rule_path, rule_entry, rule_key, stored_rules.get(rule_key or ""), camera, usable_regions)
            )
        return checked

    @staticmethod
    def stand_in_camera(existing: Camera | None, attrs: dict[str, Any] | None, entry: dict[str, Any], pk: int) -> Camera:
        """The camera as the file would leave it, unsaved, for checking its regions and rules.

        A new camera gets a negative id that no row has, so the serializers' name-clash
        queries run (Django refuses unsaved instances in filters) and find nothing."""
        if existing is not None:
            camera = copy.copy(existing)
        else:
            camera = Camera(pk=pk, name=str(entry.get("name", "")))
        for name, value in (attrs or {}).items():
            setattr(camera, name, value)
        return camera

    # Regions and rules ----------------------------------------------------------------------

    def region(self, path: str, entry: dict[str, Any], key: str | None, existing: Region | None, camera: Camera) -> _Entry:
        data = _base(existing, REGION_KEYS) | _known(entry, REGION_KEYS) | {"camera": camera}
        attrs = self.validated(_ImportRegionSerializer(instance=existing, data=data), path)
        return _Entry(path, key or "", existing, attrs or {})

    @staticmethod
    def stand_in_region(checked: _Entry, entry: dict[str, Any], camera: Camera) -> Region:
        """The region as the file would leave it, for checking the rules that use it."""
        kind = checked.attrs.get("kind") or entry.get("kind") or (checked.existing.kind if checked.existing else "")
        name = checked.attrs.get("name") or str(entry.get("name", ""))
        return Region(pk=checked.existing.pk if checked.existing else None, camera=camera, name=name, kind=kind)

    def rule(
        self, path: str, entry: dict[str, Any], key: str | None, existing: Rule | None, camera: Camera,
        regions: dict[str, Region],
    ) -> _Entry:
        data = _base(existing, RULE_KEYS) | _known(entry, RULE_KEYS)
        reported: set[str] = set()
        if data.get("webhook_secret") == REDACTED:
            del data["webhook_secret"]
            if existing is None or not existing.webhook_secret:
                self.error(f"{path}.webhook_secret", f"“{REDACTED}” only keeps a stored secret, and there is none: type the secret.")
                reported.add("webhook_secret")
        if self.schedule_hints(data.get("schedule"), f"{path}.schedule"):
            reported.add("schedule")
        data["region"] = self.resolve_region(data.get("region"), f"{path}.region", camera, regions)
        if data["region"] is _UNRESOLVED:
            data["region"] = None
            reported.add("region")
        data["camera"] = camera
        attrs = self.validated(_ImportRuleSerializer(instance=existing, data=data), path, reported)
        return _Entry(path, key or "", existing, attrs or {})

    def resolve_region(self, name: Any, path: str, camera: Camera, regions: dict[str, Region]) -> Region | object | None:
        if name is None:
            return None
        if not isinstance(name, str):
            self.error(path, "Give the name of one of the camera's zones or lines, or nothing for the whole frame.")
            return _UNRESOLVED
        region = regions.get(name.strip().casefold())
        if region is None:
            hint = " (replace mode deletes the regions that are not in the file)" if self.mode is Mode.REPLACE else ""
            self.error(path, f"No region named “{name}” on camera “{camera.name}”{hint}.")
            return _UNRESOLVED
        return region

    def schedule_hints(self, windows: Any, path: str) -> bool:
        """YAML 1.1 reads an unquoted 22:00 as the number 1320: say so instead of "got 1320"."""
        found = False
        if isinstance(windows, list):
            for index, window in enumerate(windows):
                for end in ("start", "end"):
                    if isinstance(window, dict) and type(window.get(end)) is int:
                        found = True
                        self.error(f"{path}[{index}].{end}", 'Write times in quotes, e.g. "22:00": unquoted, YAML reads 22:00 as a number.')
        return found



# --- Applying -----------------------------------------------------------------------------


def _count(counts: Counts, entries: list[Any]) -> None:
    for entry in entries:
        if entry.existing is None:
            counts.created += 1
        elif entry.changed:
            counts.updated += 1
        else:
            counts.unchanged += 1


def _summarise(plan: _Plan, mode: Mode, dry_run: bool) -> ImportSummary:
    summary = ImportSummary(mode=mode, dry_run=dry_run)
    _count(summary.cameras, plan.cameras)
    for entry in plan.cameras:
        _count(summary.regions, entry.regions)
        _count(summary.rules, entry.rules)
    summary.cameras.deleted = len(plan.deleted_cameras)
    summary.regions.deleted = len(plan.deleted_regions)
    summary.rules.deleted = len(plan.deleted_rules)
    return summary


def _save(model: type[M], entry: _Entry, **links: Any) -> M:
    """Create or update one object from its validated values (``links``: saved related objects)."""
    values = {**entry.attrs, **links}
    if entry.existing is None:
        return model.objects.create(**values)  # type: ignore[attr-defined]
    if entry.changed:
        for name, value in values.items():
            setattr(entry.existing, name, value)
        entry.existing.save()
    return entry.existing  # type: ignore[no-any-return]


def _apply(plan: _Plan) -> set[int]:
    """Write the plan; returns the ids of the cameras whose configuration changed."""
    touched: set[int] = set()
    for entry in plan.cameras:
        changed = any(e.changed for e in (entry, *entry.regions, *entry.rules))  # before saving updates them
        camera = _save(Camera, entry)
        regions = {region.name.casefold(): region for region in camera.regions.all()}
        for region_entry in entry.regions:
            region = _save(Region, region_entry, camera=camera)
            regions[region.name.casefold()] = region
        for rule_entry in entry.rules:
            wanted = rule_entry.attrs.get("region")
            _save(Rule, rule_entry, camera=camera, region=regions[wanted.name.casefold()] if wanted else None)
        if changed:
            touched.add(camera.pk)
    # Rules first: a region that a rule uses cannot be deleted (PROTECT).
    for obsolete in (plan.deleted_rules, plan.deleted_regions, plan.deleted_cameras):
        for item in obsolete:
            touched.add(item.pk if isinstance(item, Camera) else item.camera_id)
            item.delete()
    return touched


def import_config(source: str | bytes, *, mode: Mode = Mode.MERGE, dry_run: bool = False) -> ImportSummary:
    """Check the whole document, then (unless ``dry_run``) apply it in one transaction.

    Raises ConfigInvalid with every problem found; nothing changes then."""
    document = parse_document(source)
    with transaction.atomic():
        checker = _Checker(Mode(mode))
        plan = checker.plan(document)
        if checker.errors:
            raise ConfigInvalid(checker.errors)
        summary = _summarise(plan, Mode(mode), dry_run)
        if dry_run:
            return summary
        try:
            with transaction.atomic():
                touched = _apply(plan)
        except IntegrityError as err:
            raise ConfigInvalid([ConfigError("", "The configuration changed while importing; try again.")]) from err
        for camera_id in sorted(touched):
            transaction.on_commit(lambda camera_id=camera_id: publish_camera_changed(camera_id))
    return summary
