"""API permissions: Django model permissions, with ``view`` required for reads."""
from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class RoleModelPermissions(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def requires(*perms: str) -> type[BasePermission]:
    """A permission class for actions that are not plain create/update/delete."""

    class Requires(BasePermission):
        message = "Your role does not allow this."

        def has_permission(self, request: Any, view: Any) -> bool:
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))

    Requires.__name__ = "Requires_" + "_".join(p.replace(".", "_") for p in perms)
    return Requires
