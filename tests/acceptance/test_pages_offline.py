"""The service's own pages: `/docs` and `/redoc` load nothing from another host, and the
sandbox page carries the console's security headers."""

from __future__ import annotations

import re

from relaydesk.app.http.headers import PAGE_SECURITY_HEADERS
from tests.acceptance.test_sandbox import Env, env
from tests.conftest import Harness

__all__ = ["env"]  # the sandbox fixture, for the test below


async def test_the_api_docs_load_only_local_files(harness: Harness) -> None:
    for page, assets in (
        ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
        ("/redoc", ("redoc.standalone.js",)),
    ):
        html = await harness.client.get(page)
        assert html.status_code == 200, page
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html.text)
        remote = [u for pair in urls for u in pair if u.startswith(("http:", "https:", "//"))]
        assert remote == [], (page, remote)
        assert "openapi.json" in html.text
        for asset in assets:
            assert f"/docs/static/{asset}" in html.text, (page, asset)
            served = await harness.client.get(f"/docs/static/{asset}")
            assert served.status_code == 200, asset
            assert len(served.content) > 10_000, asset


async def test_the_swagger_ui_served_reads_openapi_3_1(harness: Harness) -> None:
    """Swagger UI 4 refuses `openapi: 3.1.0` ("Unable to render this definition"); the
    bundled one must be 5 or later."""
    schema = (await harness.client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    bundle = (await harness.client.get("/docs/static/swagger-ui-bundle.js")).text
    assert "isOAS31" in bundle


async def test_the_sandbox_page_has_the_consoles_security_headers(env: Env) -> None:
    page = await env.client.get("/sandbox")
    assert page.status_code == 200
    for name, value in PAGE_SECURITY_HEADERS.items():
        assert page.headers[name] == value, name
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
