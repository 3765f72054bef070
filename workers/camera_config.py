"""The one adapter from Django rows (Camera, Region, Rule) to the pipeline's plain dataclasses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cameras.models import Camera, Region, Rule
from workers.pipeline.rules import Area, ObjectFilter, RuleSpec
from workers.pipeline.schedule import Schedule


@dataclass(frozen=True)
class RuleInfo:
    """What the sink needs to know about a rule that fired."""

    name: str
    severity: str
    notify_operators: bool


@dataclass(frozen=True)
class CameraConfig:
    id: int
    name: str
    url: str
    detect_fps: float
    detect_width: int | None
    model_name: str
    rules: tuple[RuleSpec, ...]
    rule_info: dict[int, RuleInfo]
    object_filters: dict[int, ObjectFilter] | None
    """class id → filter; ``None``: every class passes."""
    object_masks: tuple[np.ndarray, ...]
    motion_masks: tuple[np.ndarray, ...]
    fingerprint: tuple[object, ...]

    def source_changed(self, other: CameraConfig) -> bool:
        """Whether moving from ``other`` to this config needs a new capture/tracker/motion gate."""
        return (self.url, self.detect_fps, self.detect_width, self.motion_fingerprint) != (
            other.url, other.detect_fps, other.detect_width, other.motion_fingerprint,
        )

    @property
    def motion_fingerprint(self) -> tuple[tuple[tuple[float, float], ...], ...]:
        return tuple(tuple(map(tuple, m.tolist())) for m in self.motion_masks)


def _area(region: Region | None) -> Area | None:
    if region is None:
        return None
    return Area(
        id=region.pk,
        name=region.name,
        kind="line" if region.kind == Region.Kind.LINE else "zone",
        points=tuple((float(x), float(y)) for x, y in region.points),
        direction=region.direction,  # type: ignore[arg-type]
    )


def pipeline_rule(rule: Rule, class_names: tuple[str, ...], timezone: str) -> RuleSpec:
    return RuleSpec(
        rule_id=rule.pk or 0,  # 0: a draft rule being previewed
        name=rule.name,
        trigger=rule.trigger,  # type: ignore[arg-type]
        class_ids=frozenset(class_names.index(name) for name in rule.object_classes if name in class_names),
        min_confidence=rule.min_confidence,
        area=_area(rule.region),
        anchor=rule.anchor,  # type: ignore[arg-type]
        duration_s=rule.duration_seconds,
        min_count=rule.min_count,
        cooldown_s=rule.cooldown_seconds,
        schedule=Schedule.from_json(rule.schedule, timezone) if rule.schedule else None,
        stationary_guard=rule.stationary_guard,
    )


def object_filters(camera: Camera, class_names: tuple[str, ...]) -> dict[int, ObjectFilter] | None:
    if not camera.object_settings:
        return None
    return {
        class_names.index(name): ObjectFilter(**values)
        for name, values in camera.object_settings.items()
        if name in class_names
    }


def load_camera_configs(model_name: str, class_names: tuple[str, ...]) -> dict[int, CameraConfig]:
    """Enabled cameras that use ``model_name``, with their enabled rules and their regions."""
    configs: dict[int, CameraConfig] = {}
    cameras = Camera.objects.filter(enabled=True, model_name=model_name).prefetch_related(
        "regions", "rules__region"
    )
    for camera in cameras:
        rules = [r for r in camera.rules.all() if r.enabled]
        regions = list(camera.regions.all())

        def polygons(kind: str) -> tuple[np.ndarray, ...]:
            return tuple(np.asarray(r.points, np.float32) for r in regions if r.kind == kind)  # noqa: B023

        configs[camera.pk] = CameraConfig(
            id=camera.pk,
            name=camera.name,
            url=camera.stream_url,
            detect_fps=camera.detect_fps,
            detect_width=camera.detect_width,
            model_name=camera.model_name,
            rules=tuple(pipeline_rule(r, class_names, camera.timezone) for r in rules),
            rule_info={
                r.pk: RuleInfo(name=r.name, severity=r.severity, notify_operators=r.notify_operators) for r in rules
            },
            object_filters=object_filters(camera, class_names),
            object_masks=polygons("object_mask"),
            motion_masks=polygons("motion_mask"),
            fingerprint=(
                camera.updated_at,
                tuple((r.pk, r.updated_at) for r in rules),
                tuple((r.pk, r.updated_at) for r in regions),
            ),
        )
    return configs
