"""The camera form: the same validation as the API (cameras.validation).

Besides the plain fields, the form carries the per-object settings of
``Camera.object_settings`` as a small table (one row per class the model knows:
a checkbox and three numbers). Those inputs are not Django fields, because the set
of rows depends on the model; :meth:`CameraForm.object_rows` builds them for the
template and :meth:`CameraForm.clean` reads them back.
"""
from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from cameras.models import Camera
from cameras.validation import (
    class_names_of,
    clean_camera_name,
    clean_detect_fps,
    clean_detect_width,
    clean_model_name,
    clean_object_settings,
    clean_stream_url,
    clean_timezone,
)
from workers.pipeline.catalogue import CATALOGUE

OBJECT_NUMBERS = ("min_confidence", "min_area", "max_area")
_ROW_NAME = re.compile(r"^obj-(\d+)-name$")


def _detector_choices() -> list[tuple[str, str]]:
    return [(name, name) for name, spec in sorted(CATALOGUE.items()) if spec.task == "detection"]


@functools.cache
def timezone_names() -> list[str]:
    """Every IANA name this Python knows, for the timezone datalist."""
    return sorted(zoneinfo.available_timezones())


@dataclass(frozen=True)
class ObjectRow:
    """One row of the object table, as the template draws it."""

    index: int
    name: str
    enabled: bool
    min_confidence: str
    min_area: str
    max_area: str


def _number_text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float | int):
        return f"{value:g}"
    return str(value)


class CameraForm(forms.ModelForm):
    stream_url = forms.CharField(
        label="Stream URL",
        help_text="rtsp://…, http(s):// MJPEG or HLS, or a video file inside the demo video folder.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    model_name = forms.ChoiceField(label="Model", choices=_detector_choices)
    detect_fps = forms.FloatField(
        label="Detect fps", help_text="How many frames a second the detector looks at (0.1 to 30).",
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0.1", "max": "30"}),
    )
    detect_width = forms.IntegerField(
        label="Detect width", required=False,
        help_text="Frames wider than this many pixels are scaled down before detection; empty: as decoded.",
        widget=forms.NumberInput(attrs={"step": "1", "min": "160", "max": "3840", "placeholder": "as decoded"}),
    )
    timezone = forms.CharField(
        label="Timezone", max_length=64, required=False,
        help_text="IANA name such as Europe/Paris or UTC: rule schedules and event times use it. "
        "Empty: the server's.",
        widget=forms.TextInput(attrs={"list": "vigil-timezones", "autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        label="Description", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Camera
        fields = ["name", "stream_url", "model_name", "detect_fps", "detect_width", "timezone", "description", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Never send a stored password back to the browser.
            self.initial["stream_url"] = self.instance.display_url
        else:
            for field in ("detect_fps", "model_name", "timezone"):
                self.initial.setdefault(field, Camera._meta.get_field(field).get_default())
            self.initial.setdefault("enabled", True)
        self._object_settings: dict[str, dict[str, float]] = dict(self.instance.object_settings or {})

    # --- plain fields -------------------------------------------------------------------

    def clean_name(self) -> str:
        return clean_camera_name(self.cleaned_data["name"], exclude_pk=self.instance.pk)

    def clean_stream_url(self) -> str:
        previous = Camera.objects.get(pk=self.instance.pk).stream_url if self.instance.pk else None
        return clean_stream_url(self.cleaned_data["stream_url"], previous=previous)

    def clean_model_name(self) -> str:
        return clean_model_name(self.cleaned_data["model_name"])

    def clean_detect_fps(self) -> float:
        return clean_detect_fps(self.cleaned_data["detect_fps"])

    def clean_detect_width(self) -> int | None:
        return clean_detect_width(self.cleaned_data.get("detect_width"))

    def clean_timezone(self) -> str:
        typed = (self.cleaned_data.get("timezone") or "").strip()
        if not typed:
            return self.instance.timezone if self.instance.pk else str(Camera._meta.get_field("timezone").get_default())
        return clean_timezone(typed)

    # --- the object table ---------------------------------------------------------------

    @property
    def model_for_objects(self) -> str:
        """The model whose classes the table lists: the one chosen in the form, if known."""
        chosen = self.data.get("model_name") if self.is_bound else None
        if chosen in CATALOGUE:
            return str(chosen)
        return str(self.initial.get("model_name") or self.instance.model_name)

    def _posted_objects(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Rows of the posted table → raw settings of the ticked classes, and number errors."""
        posted: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        for key in self.data:
            match = _ROW_NAME.match(key)
            if not match:
                continue
            prefix = f"obj-{match.group(1)}-"
            name = str(self.data.get(key, "")).strip()
            if not name or not self.data.get(prefix + "on"):
                continue
            numbers: dict[str, Any] = {}
            for number in OBJECT_NUMBERS:
                text = str(self.data.get(prefix + number, "")).strip()
                if not text:
                    continue
                try:
                    numbers[number] = float(text)
                except ValueError:
                    problems.append(f"{name}: {number} must be a number from 0 to 1.")
                    numbers[number] = text
            posted[name] = numbers
        return posted, problems

    def object_rows(self) -> list[ObjectRow]:
        """The table for the template: the posted values after a failed submit, else the stored ones."""
        if self.is_bound:
            current, _problems = self._posted_objects()
        else:
            current = self._object_settings
        rows = []
        for index, name in enumerate(class_names_of(self.model_for_objects)):
            values = current.get(name, {})
            rows.append(ObjectRow(
                index=index, name=name, enabled=name in current,
                min_confidence=_number_text(values.get("min_confidence")),
                min_area=_number_text(values.get("min_area")),
                max_area=_number_text(values.get("max_area")),
            ))
        return rows

    @property
    def enabled_objects(self) -> list[str]:
        return [row.name for row in self.object_rows() if row.enabled]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        posted, problems = self._posted_objects()
        if problems:
            self.add_error(None, ValidationError(problems))
            return cleaned
        model = cleaned.get("model_name")
        if model:
            try:
                self._object_settings = clean_object_settings(posted, model_name=model)
            except ValidationError as err:
                self.add_error(None, err)
        return cleaned

    @property
    def object_errors(self) -> list[str]:
        """Errors of the object table (kept as non-field errors, shown under the table)."""
        return list(self.non_field_errors())

    def model_values(self) -> dict[str, Any]:
        """The validated values as ``Camera`` field values, object settings included."""
        values = {field: self.cleaned_data[field] for field in self.Meta.fields}
        values["object_settings"] = self._object_settings
        return values

    def save(self, commit: bool = True) -> Camera:
        camera: Camera = super().save(commit=False)
        camera.object_settings = self._object_settings
        if commit:
            camera.save()
        return camera
