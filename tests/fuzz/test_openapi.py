"""Schemathesis against the app's own OpenAPI document, in process (ASGI).

Every operation gets generated requests, valid ones and invalid ones (negative data), sent with a
registered user's token. The checks: no 5xx, status codes, content types, headers and bodies as the
document says, invalid input rejected with a 4xx, and no route served without its token.
`FUZZ_EXAMPLES` (default 15) bounds the examples per operation and phase; see docs/testing.md.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance
from starlette.types import Receive, Scope, Send

from switchboard.app import create_app
from tests.conftest import make_settings

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
pytestmark = pytest.mark.timeout(max(300, FUZZ_EXAMPLES * 10))


class DeferredApp:
    """The app under test: the document is read when the module is imported, the app that
    serves it (on a fresh database) is made by a fixture."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the served_app fixture makes the app"
        await self.app(scope, receive, send)


APP = DeferredApp()
# Making the app only builds routes: no database is opened until its lifespan starts.
DOCUMENT = create_app(make_settings("sqlite+aiosqlite://", Path("unused"))).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = APP
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=FUZZ_EXAMPLES,
    # Unknown query parameters are ignored, as on most of the web (the contract rejects unknown
    # fields in bodies, which stays checked); they are not negative data here.
    allow_extra_parameters=False,
)


@pytest.fixture(scope="module")
def served_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[None]:
    tmp_path = tmp_path_factory.mktemp("openapi-fuzz")
    database = tmp_path / "switchboard.db"
    shutil.copy(sqlite_template, database)
    APP.app = create_app(make_settings(f"sqlite+aiosqlite:///{database}", tmp_path))
    try:
        yield
    finally:
        # Schemathesis started the app's lifespan on the first request; end it here.
        asgi.shutdown_lifespans()
        APP.app = None


@pytest.fixture(scope="module")
def auth_headers(served_app: None) -> dict[str, str]:
    """A registered user's token; a second user gives generated calls someone to reach."""
    tokens = []
    for _ in range(2):
        case = schema["/auth/register"]["POST"].Case(
            body={"username": f"fuzz{uuid.uuid4().hex[:10]}", "password": "password123"},
            media_type="application/json",
        )
        response = case.call()
        assert response.status_code == 201, response.text
        tokens.append(response.json()["accessToken"])
    return {"Authorization": f"Bearer {tokens[0]}"}


# 422s that a rule, not the schema, decides: a body the schema allows may still name a device
# that is not connected, or myself.
RULE_CODES = frozenset({"unknown_connection", "cannot_call_self"})


def positive_data_accepted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Schemathesis' positive-data check, except for the contract's rule-based 422s."""
    if response.status_code == 422 and response.json().get("code") in RULE_CODES:
        return None
    return positive_data_acceptance(ctx, response, case)


EXCLUDED_CHECKS = [
    positive_data_acceptance,
    # `Allow` on a 405 lists every method of every route the path matches: OPTIONS
    # /calls/initiate also matches /calls/{call_id} (GET, DELETE), which honestly answers 404.
    allow_header_conformance,
]


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FUZZ_RANDOM") is None,
)
def test_openapi_conformance(case: schemathesis.Case[Any], auth_headers: dict[str, str]) -> None:
    case.call_and_validate(
        headers=auth_headers,
        excluded_checks=EXCLUDED_CHECKS,
        additional_checks=[positive_data_accepted],
    )
