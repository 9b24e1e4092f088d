"""Security headers on every response (API, errors, web client, docs) and CORS only for the
allowed origins."""

from __future__ import annotations

import httpx

from switchboard.api.security import DOCS_POLICY
from tests.security.conftest import Apps

EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_secure(response: httpx.Response) -> dict[str, list[str]]:
    where = f"{response.request.method} {response.request.url.path}"
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, (where, name)
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'none'"], where
    assert policy["default-src"] == ["'self'"], where
    return policy


async def test_every_response_has_the_headers(apps: Apps) -> None:
    app = await apps.app()
    http = await apps.client(app)
    token = (
        await http.post("/auth/register", json={"username": "headers1", "password": "password123"})
    ).json()["accessToken"]
    responses = [
        await http.get("/"),
        await http.get("/app/main.js"),
        await http.get("/styles.css"),
        await http.get("/healthz"),
        await http.get("/metrics"),
        await http.get("/openapi.json"),
        await http.get("/users/me", headers={"Authorization": f"Bearer {token}"}),
        await http.get("/users/me"),  # 401
        await http.get("/no/such/route"),  # 404
        await http.delete("/healthz"),  # 405
        await http.post("/auth/login", content=b"x", headers={"content-type": "text/plain"}),
    ]
    for response in responses:
        policy = assert_secure(response)
        values = [value for directive in policy.values() for value in directive]
        assert "'unsafe-inline'" not in values, response.url
    page = directives(responses[0].headers["content-security-policy"])
    assert page["script-src"] == ["'self'"] and page["style-src"] == ["'self'"]
    assert page["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]
    assert page["form-action"] == ["'self'"]
    assert "blob:" in page["media-src"] and "blob:" in page["img-src"]


async def test_docs_have_their_own_policy(apps: Apps) -> None:
    http = await apps.client(await apps.app())
    for path in ("/docs", "/redoc"):
        response = await http.get(path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == DOCS_POLICY
        assert_secure(response)
    # The API itself does not get the docs' relaxed policy.
    relaxed = (await http.get("/healthz")).headers["content-security-policy"]
    assert "cdn.jsdelivr.net" not in relaxed


async def test_an_odd_host_header_is_not_echoed(apps: Apps) -> None:
    http = await apps.client(await apps.app())
    response = await http.get("/", headers={"Host": "evil.example; script-src *"})
    policy = directives(response.headers["content-security-policy"])
    assert policy["connect-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]


async def test_no_cors_without_allowed_origins(apps: Apps) -> None:
    http = await apps.client(await apps.app())
    preflight = await http.options(
        "/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await http.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_only_for_allowed_origins(apps: Apps) -> None:
    app = await apps.app(allowed_origins="https://calls.example.com, https://app.example.com/")
    http = await apps.client(app)
    ask = {
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = await http.options(
        "/calls/x/end", headers={"Origin": "https://app.example.com", **ask}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "PATCH" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in allowed.headers
    assert_secure(allowed)
    foreign = await http.options("/calls/x/end", headers={"Origin": "https://evil.example", **ask})
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers
    simple = await http.get("/healthz", headers={"Origin": "https://calls.example.com"})
    assert simple.headers["access-control-allow-origin"] == "https://calls.example.com"
    assert "retry-after" in simple.headers["access-control-expose-headers"].lower()
    evil = await http.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
