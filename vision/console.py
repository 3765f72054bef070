"""Management commands' console output shared by the apps."""
from __future__ import annotations

from django.core.management.base import OutputWrapper


class RawOutput:
    """Django's OutputWrapper without the newline it appends to every write: tqdm redraws
    its bar in place, and writers of whole files bring their own newlines."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        self._wrapper.write(text, ending="")

    def flush(self) -> None:
        self._wrapper.flush()
