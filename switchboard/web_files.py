"""Serves the web client (no build step) from the package's `web/` folder."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles


def mount_web_client(app: FastAPI, root: Path) -> None:
    """`/` is the page; `/sdk/switchboard.js` the browser SDK; other files at their paths."""
    app.mount("/", StaticFiles(directory=root, html=True, check_dir=False), name="web")
