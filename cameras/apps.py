from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CamerasConfig(AppConfig):
    name = "cameras"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vision.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, dispatch_uid="vigil.ensure_role_groups")
