"""Create the first admin account if there is none, printing its password once."""
from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from vision.roles import ADMIN


class Command(BaseCommand):
    help = "Create an admin account on first run (username 'admin', random password printed once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists already.")
            return
        password = secrets.token_urlsafe(12)
        user = users.objects.create_superuser(username=username, password=password, email="")
        user.groups.add(Group.objects.get(name=ADMIN))
        self.stdout.write(self.style.SUCCESS("Created the first admin account."))
        self.stdout.write(f"  username: {username}\n  password: {password}\n  (shown only this once)")
