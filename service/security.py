"""API keys: random 256-bit secrets shown once; only their SHA-256 digest is stored.

A key looks like ``bsk_<prefix>_<secret>``. The prefix finds the row; the digest of the whole key
is compared in constant time. A plain SHA-256 suffices because the secret is 256 random bits (no
dictionary to attack); nothing ever logs a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
_RANK = {"read": 0, "write": 1, "admin": 2}


def new_key() -> tuple[str, str, str]:
    """Return ``(key, prefix, digest)`` for a fresh key."""
    prefix = secrets.token_hex(6)
    key = f"bsk_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, digest(key)


def digest(key: str) -> str:
    """SHA-256 hex digest of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_prefix(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "bsk" or len(parts[1]) != 12:
        return None
    return parts[1]


def matches(key: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented key with a stored digest."""
    return hmac.compare_digest(digest(key), stored_digest)


def allows(role: str, needed: Role) -> bool:
    """Whether ``role`` may do what ``needed`` requires (admin > write > read)."""
    return _RANK.get(role, -1) >= _RANK[needed]
