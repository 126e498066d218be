"""Opaque keyset cursors.

A cursor encodes the sort key of the last item returned, never an offset, so
paging stays exact while rows are added or deleted (`re delete bulk` deletes
while it pages). A short digest makes a mangled or hand-edited cursor a clear
400 instead of a silently wrong page; it is not a secret, since any position a
caller could forge is one it may legitimately ask for.
"""
from __future__ import annotations

import base64
import hashlib
import json

from .errors import InvalidInput


def _digest(payload: bytes) -> str:
    return hashlib.sha256(b"reinfer-clone-cursor:" + payload).hexdigest()[:8]


def encode(kind: str, key: list) -> str:
    payload = json.dumps([kind, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _digest(payload)


def decode(kind: str, cursor: str, field: str = "continuation") -> list:
    try:
        encoded, digest = cursor.rsplit(".", 1)
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if digest != _digest(payload):
            raise ValueError("digest mismatch")
        found_kind, key = json.loads(payload)
        if found_kind != kind or not isinstance(key, list):
            raise ValueError("wrong kind")
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"Invalid {field}: '{cursor}' is not a cursor this route issued.", field=field) from exc
    return key
