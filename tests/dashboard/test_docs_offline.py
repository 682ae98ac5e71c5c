"""``/docs`` and ``/redoc`` work without internet: every asset comes from the app itself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.dashboard.test_browser import browser_page, live_server  # noqa: F401 (fixtures)


def test_docs_pages_reference_only_local_assets(client: TestClient):
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", html.text)
        assert urls, html.text
        assert not [u for u in urls if re.match(r"(https?:)?//", u)], urls  # no CDN
        for url in urls:
            if url.startswith("/docs-assets/"):
                assert client.get(url).status_code == 200, url


def test_docs_render_every_operation_in_chromium_with_no_network(live_server, browser_page):  # noqa: F811
    base = live_server.url
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    browser_page.route("**/*", only_local)
    operations = sum(
        1
        for methods in live_server.app.openapi()["paths"].values()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    )
    browser_page.goto(f"{base}/docs")
    browser_page.wait_for_selector(".opblock", timeout=30_000)
    assert browser_page.locator(".opblock").count() == operations
    assert browser_page.locator(".opblock-summary-path").first.inner_text().startswith("/")
    assert outside == []
