"""The camera form: the same validation as the API (cameras.validation)."""
from __future__ import annotations

from typing import Any

from django import forms

from cameras.models import Camera
from cameras.validation import clean_camera_name, clean_detect_fps, clean_model_name, clean_stream_url
from workers.pipeline.catalogue import CATALOGUE


def _detector_choices() -> list[tuple[str, str]]:
    return [(name, name) for name, spec in sorted(CATALOGUE.items()) if spec.task == "detection"]


class CameraForm(forms.ModelForm):
    stream_url = forms.CharField(
        label="Stream URL",
        help_text="rtsp://…, http(s):// MJPEG or HLS, or a video file inside the demo video folder.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    model_name = forms.ChoiceField(label="Model", choices=_detector_choices)

    class Meta:
        model = Camera
        fields = ["name", "stream_url", "enabled", "detect_fps", "model_name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Never send a stored password back to the browser.
            self.initial["stream_url"] = self.instance.display_url

    def clean_name(self) -> str:
        return clean_camera_name(self.cleaned_data["name"], exclude_pk=self.instance.pk)

    def clean_stream_url(self) -> str:
        previous = Camera.objects.get(pk=self.instance.pk).stream_url if self.instance.pk else None
        return clean_stream_url(self.cleaned_data["stream_url"], previous=previous)

    def clean_model_name(self) -> str:
        return clean_model_name(self.cleaned_data["model_name"])

    def clean_detect_fps(self) -> float:
        return clean_detect_fps(self.cleaned_data["detect_fps"])
