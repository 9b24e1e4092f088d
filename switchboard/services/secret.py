"""The JWT signing secret: from settings, or a development secret kept in a local file."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from pathlib import Path

from switchboard.config import Settings

log = logging.getLogger(__name__)


class MissingSecret(RuntimeError):
    pass


def resolve_jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.is_production:
        raise MissingSecret("JWT_SECRET is required when SWITCHBOARD_ENV=production")
    return _development_secret(settings.jwt_secret_file)


def _development_secret(path: Path) -> str:
    """Creates the file once, atomically: several instances starting together agree."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as tmp:
            tmp.write(secrets.token_urlsafe(48))
        try:
            os.chmod(tmp.name, 0o600)
            os.link(tmp.name, path)  # fails if another process got there first
            log.warning(
                "JWT_SECRET is not set: using a development secret kept in %s. "
                "Set JWT_SECRET (and SWITCHBOARD_ENV=production) in production.",
                path,
            )
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp.name)
    for _ in range(50):
        secret = path.read_text().strip()
        if secret:
            return secret
        time.sleep(0.01)
    raise MissingSecret(f"the development secret file {path} is empty")
