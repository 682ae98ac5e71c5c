"""The server's admin token: what lets a caller create projects over HTTP (API and dashboard)."""

from __future__ import annotations

import hmac

from service.config import Settings
from service.errors import Forbidden, Unauthorized

ENABLE_HINT = (
    "creating projects over HTTP is disabled: set BAYESCALE_ADMIN_TOKEN on the server "
    "(or run `bayescale admin create-project NAME`)"
)


def check_admin_token(settings: Settings, presented: str | None) -> None:
    """Accept ``presented`` only if it equals the configured admin token.

    Raises
    ------
    Forbidden
        No admin token is configured: nobody may create projects over HTTP.
    Unauthorized
        The token is missing or wrong (compared in constant time).
    """
    if settings.admin_token is None:
        raise Forbidden(ENABLE_HINT, field="Authorization")
    expected = settings.admin_token.get_secret_value().encode()
    if not presented or not hmac.compare_digest(presented.encode(), expected):
        raise Unauthorized("missing or wrong admin token", field="Authorization")
