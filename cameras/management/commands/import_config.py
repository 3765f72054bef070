"""Apply a YAML configuration: ``manage.py import_config FILE [--dry-run] [--mode merge|replace]``."""
from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cameras.config_yaml import MAX_DOCUMENT_BYTES, ConfigInvalid, Mode, import_config


class Command(BaseCommand):
    help = (
        "Import cameras, regions and rules from a YAML file (as written by export_config). Everything is "
        "checked first; nothing changes unless the whole file is valid. Exits with status 1 on errors."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="The YAML file; - reads standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Check and count the changes, change nothing.")
        parser.add_argument(
            "--mode", choices=[m.value for m in Mode], default=Mode.MERGE.value,
            help="merge (default): keep what the file leaves out; replace: delete it.",
        )

    def handle(self, *args: Any, file: str, dry_run: bool, mode: str, **options: Any) -> None:
        source = self._read(file)
        try:
            summary = import_config(source, mode=Mode(mode), dry_run=dry_run)
        except ConfigInvalid as err:
            for error in err.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(err.errors)} problem(s) found; nothing was changed.") from err
        heading = "Dry run, nothing changed. It would change:" if dry_run else f"Imported ({mode}):"
        self.stdout.write(f"{heading}\n{summary.describe()}")

    @staticmethod
    def _read(file: str) -> bytes:
        """At most one byte past the size limit: enough to tell it is too large."""
        if file == "-":
            return sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
        try:
            with open(file, "rb") as handle:
                return handle.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as err:
            raise CommandError(f"Cannot read {file}: {err.strerror}.") from err
