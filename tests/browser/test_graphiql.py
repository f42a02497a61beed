"""GraphiQL in a real browser with no internet: headless Chromium (Debian's package) loads
/graphql with every outside address blocked, runs a query and shows its result. The assets are
the package's own (gotong_gql/static/graphiql/, tests/test_graphiql_assets.py), so this holds
for every install.

The screenshot is kept in test-artifacts/graphiql.png."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, sync_playwright

from tests.conftest import JWT_SECRET, create_database, drop_database
from tests.e2e.server import cli, serve

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    database = create_database(tmp)
    env = {"DATABASE_URL": database.url, "JWT_SECRET": JWT_SECRET, "VAR_DIR": str(tmp / "var")}
    for command in (["migrate"], ["seed-demo"]):
        assert cli(*command, env=env).returncode == 0
    try:
        with serve(env, tmp / "server.log") as base:
            yield base
    finally:
        drop_database(database)


def test_graphiql_runs_a_query_with_no_outside_address(server):
    assert CHROMIUM, "Debian's chromium is needed (make browser installs it)"
    own = urlsplit(server).netloc
    outside: list[str] = []

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.route("**/*", only_this_server)
            errors: list[str] = []
            page.on(
                "console", lambda message: message.type == "error" and errors.append(message.text)
            )
            response = page.goto(f"{server}/graphql", wait_until="networkidle")
            assert response.status == 200
            csp = response.headers["content-security-policy"]
            assert "script-src 'self' 'nonce-" in csp
            page.wait_for_selector(".graphiql-container", timeout=20_000)
            editor = page.locator(".graphiql-query-editor .CodeMirror").first
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.type(
                'mutation { tokenCreate(input: {login: "siti", password: '
                '"gotong-demo-password"}) { user { username roles } } }'
            )
            page.locator(".graphiql-execute-button").click()
            result = page.locator(".graphiql-response")
            result.get_by_text('"ORGANIZER"').wait_for(timeout=20_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "graphiql.png"), full_page=True)
        finally:
            browser.close()
    assert outside == []
    assert not [e for e in errors if "Content Security Policy" in e], errors
