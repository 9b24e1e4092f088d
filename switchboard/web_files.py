"""Serves the web client (no build step) from the package's `web/` folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class WebFiles(StaticFiles):
    """Static files at `/` that keep the API's 404s and 405s right.

    A mount at `/` matches every path, so Starlette hands it requests that only failed an
    API route on the method (`DELETE /users/me`), and StaticFiles would answer 404 to a GET
    and 405 to anything else whatever the path. Here: a path of an API route with another
    method is 405 (with the route's `Allow`), an unknown path is 404 for every method.
    """

    def __init__(self, *, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._routes = routes  # the app's own list: routes added later count too

    def _api_methods(self, scope: Scope) -> list[str]:
        """The methods an API route (not this mount) takes at the request's path."""
        return [
            method
            for method in METHODS
            if any(
                route.matches({**scope, "method": method})[0] is Match.FULL
                for route in self._routes
                if not isinstance(route, Mount)
            )
        ]

    async def get_response(self, path: str, scope: Scope) -> Response:
        allowed = self._api_methods(scope)
        if allowed:
            raise HTTPException(status_code=405, headers={"Allow": ", ".join(allowed)})
        if scope["method"] in ("GET", "HEAD"):
            return await super().get_response(path, scope)
        await super().get_response(path, {**scope, "method": "GET"})  # 404 when unknown
        raise HTTPException(status_code=405, headers={"Allow": "GET, HEAD"})


def mount_web_client(app: FastAPI, root: Path) -> None:
    """`/` is the page; `/sdk/switchboard.js` the browser SDK; other files at their paths."""
    web = WebFiles(routes=app.router.routes, directory=root, html=True, check_dir=False)
    app.mount("/", web, name="web")
