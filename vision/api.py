"""Helpers shared by the apps' API modules."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.pagination import CursorPagination


def drf_validator(clean: Callable[..., Any], **kwargs: Any) -> Callable[[Any], Any]:
    """Run one of the shared ``clean_*`` functions and report its message the DRF way."""

    def run(value: Any) -> Any:
        try:
            return clean(value, **kwargs)
        except DjangoValidationError as err:
            raise serializers.ValidationError(err.messages) from err

    return run


class NewestFirstCursor(CursorPagination):
    """Stable paging for append-mostly tables: a client can resume from its cursor."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
