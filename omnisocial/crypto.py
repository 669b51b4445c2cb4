"""Secrets at rest: platform access tokens, consumer secrets and app credentials are stored
encrypted (Fernet: AES-128-CBC with an HMAC-SHA256, from the `cryptography` package), never in the
clear, and never shown again after they are saved.

Keys come from FIELD_ENCRYPTION_KEYS (comma-separated Fernet keys, `manage.py
encryption_key` makes one): the first encrypts, every one decrypts, so a key is rotated by
putting a new one first, running `manage.py encryption_rotate` (re-encrypts every stored value
with the first key), then removing the old one. Without the setting a key is derived from
SECRET_KEY (development only: `check --deploy` warns).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "enc:"  # stored values start with it, so a plain value is never taken for a ciphertext


def _keys() -> list[bytes]:
    keys = [k.strip().encode() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()]
    if not keys:
        digest = hashlib.sha256(f"omnisocial-fields:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest)]
    return keys


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def encrypt(plain: str) -> str:
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "an encrypted value cannot be read with FIELD_ENCRYPTION_KEYS (was a key removed "
            "before `manage.py encryption_rotate` ran?)"
        ) from exc


def rotate(stored: str) -> str:
    """The value encrypted again with the first key."""
    return PREFIX + _fernet().rotate(stored[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column holding a secret: Python sees the plain value, the database only its
    ciphertext. Not searchable or orderable by value (each encryption differs)."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value
