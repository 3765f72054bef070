"""``python manage.py fetch_models [NAME ...] [--model-dir DIR]``: install the verified model files."""
from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workers.pipeline.catalogue import CATALOGUE, ModelFileError, fetch_model


class Command(BaseCommand):
    help = (
        "Download the models Vigil runs into VIGIL_MODEL_DIR (or --model-dir), check their sha256 and "
        "build the derived ones. Files already there with the right checksum are kept."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "names", nargs="*", metavar="NAME", help=f"models to fetch (default: all of {', '.join(CATALOGUE)})"
        )
        parser.add_argument("--model-dir", type=Path, help="folder for the model files (default: VIGIL_MODEL_DIR)")

    def handle(self, *args: Any, **options: Any) -> None:
        names: list[str] = options["names"] or list(CATALOGUE)
        unknown = [name for name in names if name not in CATALOGUE]
        if unknown:
            raise CommandError(f"unknown model {', '.join(unknown)}: choose from {', '.join(CATALOGUE)}")
        model_dir: Path = options["model_dir"] or Path(settings.VIGIL_MODEL_DIR)
        progress = options["verbosity"] > 0
        failed = []
        for name in names:
            try:
                path = fetch_model(CATALOGUE[name], model_dir, progress=progress)
            except (ModelFileError, OSError) as exc:
                failed.append(name)
                self.stderr.write(f"failed {name}: {exc}")
            else:
                self.stdout.write(f"ok {path}")
        if failed:
            raise CommandError(f"could not fetch {', '.join(failed)}")
