"""Write every camera, region and rule as YAML: ``manage.py export_config [--out FILE] [--include-secrets]``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from cameras.config_yaml import export_config


class Command(BaseCommand):
    help = (
        "Export the configuration (cameras, regions, rules) as YAML. Stream passwords and webhook "
        "secrets are written as *** unless --include-secrets is given."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", type=Path, help="Write to this file instead of standard output.")
        parser.add_argument(
            "--include-secrets", action="store_true",
            help="Write stream passwords and webhook secrets in clear: keep such a file private.",
        )

    def handle(self, *args: Any, out: Path | None, include_secrets: bool, **options: Any) -> None:
        text = export_config(include_secrets=include_secrets)
        if out is None:
            self.stdout.write(text, ending="")
            return
        out.write_text(text, encoding="utf-8")
        if include_secrets:
            out.chmod(0o600)  # it holds passwords
        self.stderr.write(f"Wrote {out}.")
