"""Encryption at rest for stream URLs, which may carry camera credentials."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"vigil/stream-credentials/v1:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise ValueError("stream URL cannot be decrypted: was VIGIL_SECRET_KEY changed?") from err


class EncryptedTextField(models.TextField):
    """A text column stored Fernet-encrypted; Python code sees the plain value."""

    def from_db_value(self, value, expression, connection):  # type: ignore[no-untyped-def]
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):  # type: ignore[no-untyped-def]
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)
