"""The one adapter from Django rows (Camera, Rule) to the pipeline's plain dataclasses."""
from __future__ import annotations

from dataclasses import dataclass

from cameras.models import Camera, Rule
from workers.pipeline.rules import ObjectSeenRule


@dataclass(frozen=True)
class RuleInfo:
    """What the sink needs to know about a rule that fired."""

    name: str
    severity: str


@dataclass(frozen=True)
class CameraConfig:
    id: int
    name: str
    url: str
    detect_fps: float
    model_name: str
    rules: tuple[ObjectSeenRule, ...]
    rule_info: dict[int, RuleInfo]
    fingerprint: tuple[object, ...]

    def source_changed(self, other: CameraConfig) -> bool:
        """Whether moving from ``other`` to this config needs a new capture/tracker."""
        return (self.url, self.detect_fps) != (other.url, other.detect_fps)


def _pipeline_rule(rule: Rule, class_names: tuple[str, ...]) -> ObjectSeenRule:
    class_ids = frozenset(class_names.index(name) for name in rule.object_classes if name in class_names)
    return ObjectSeenRule(
        rule_id=rule.pk,
        name=rule.name,
        class_ids=class_ids,
        min_confidence=rule.min_confidence,
        cooldown_s=rule.cooldown_seconds,
    )


def load_camera_configs(model_name: str, class_names: tuple[str, ...]) -> dict[int, CameraConfig]:
    """Enabled cameras that use ``model_name``, with their enabled rules."""
    configs: dict[int, CameraConfig] = {}
    cameras = Camera.objects.filter(enabled=True, model_name=model_name).prefetch_related("rules")
    for camera in cameras:
        rules = [r for r in camera.rules.all() if r.enabled]
        configs[camera.pk] = CameraConfig(
            id=camera.pk,
            name=camera.name,
            url=camera.stream_url,
            detect_fps=camera.detect_fps,
            model_name=camera.model_name,
            rules=tuple(_pipeline_rule(r, class_names) for r in rules),
            rule_info={r.pk: RuleInfo(name=r.name, severity=r.severity) for r in rules},
            fingerprint=(camera.updated_at, tuple((r.pk, r.updated_at) for r in rules)),
        )
    return configs
