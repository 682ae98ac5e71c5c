"""End to end in headless Chromium against a live server: the walk a new user takes.

Create a project with the admin token, log in with the key it shows, create a dataset, upload a
CSV the project's simulator made, queue a fit, watch its status reach succeeded (the page polls),
see the plot image load, predict — and save a screenshot (``BAYESCALE_SCREENSHOT_DIR`` or the
test's tmp dir). The fast variant runs the worker with the sampler mocked; the slow one samples
with NUTS and, with ``BAYESCALE_README_SCREENSHOT=path``, also writes the README's screenshot.

The server is uvicorn in a thread on a free loopback port; the fit worker is ``jobs.work`` in a
second thread of this process (so the fast variant's monkeypatched sampler is the one it uses).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

import models
from service import jobs
from service.config import Settings
from service.main import create_app

CHROMIUM = Path("/usr/bin/chromium")
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"


@dataclass
class LiveServer:
    url: str
    app: object


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path) -> Iterator[LiveServer]:
    """The app on a free loopback port, with one fit worker thread in this process."""
    settings = Settings(data_dir=tmp_path / "data", workers=0, admin_token=ADMIN_TOKEN)
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert serving.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    stop = threading.Event()
    worker = threading.Thread(
        target=jobs.work,
        args=(app.state.sessions,),
        kwargs={"lease_s": 60.0, "stop": stop, "idle_s": 0.2},
        daemon=True,
    )
    worker.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        stop.set()
        server.should_exit = True
        worker.join(timeout=600)
        serving.join(timeout=30)


@pytest.fixture
def browser_page():
    """A Chromium page (1280 px wide); skipped without Chromium, except under CI=true."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required under CI=true (apt-get install chromium)")
        pytest.skip(f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def _screenshot_dir(tmp_path: Path) -> Path:
    path = Path(os.environ.get("BAYESCALE_SCREENSHOT_DIR") or tmp_path / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _example_csv(path: Path) -> Path:
    """The simulator's example sweep (four architectures, 8 runs each), with the column names
    `bayescale example` writes (the group is `architecture`: the upload must map it)."""
    frame = models.simulate.example_dataset(0, points_per_group=8).to_frame()
    frame = frame[["params", "data", "loss", "group"]].rename(columns={"group": "architecture"})
    frame.to_csv(path, index=False)
    return path


def _wait_until_loaded(page, selector: str, timeout_s: float) -> None:
    """Wait for an image to load. Polled from here: ``wait_for_function`` evaluates a string in
    the page, which the dashboard's Content-Security-Policy (no 'unsafe-eval') forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.locator(selector).evaluate("img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, f"{selector} did not load in {timeout_s} s"
        page.wait_for_timeout(250)


def walk_through(
    page, base: str, csv: Path, sampler: dict[str, str], timeout_s: float, shots: Path
) -> str:
    """Project → login → dataset → upload → fit → succeeded → plot → predict; the fit's URL.

    Screenshots of the dataset and project pages go to ``shots`` on the way.
    """
    from playwright.sync_api import expect

    page.goto(f"{base}/projects/new")
    page.fill("#name", "demo")
    page.fill("#admin_token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    key = page.inner_text("#new-key").strip()
    assert key.startswith("bsk_")

    page.goto(f"{base}/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Project demo")

    page.fill("input[name=name]", "sweep")
    page.fill("input[name=description]", "example architectures")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("h1")).to_have_text("sweep")
    page.set_input_files("input[name=csv_file]", str(csv))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_label("architecture becomes")).to_have_value("group")  # the guess
    page.screenshot(path=str(shots / "upload_map.png"), full_page=True)
    page.get_by_role("button", name="Store rows").click()
    expect(page.locator(".notice")).to_have_text("Stored 32 rows.")
    expect(page.locator("#mapped")).to_contain_text("architecture → group")
    assert page.locator("table.data tbody tr").count() == 32
    page.screenshot(path=str(shots / "dataset.png"), full_page=True)

    page.get_by_role("link", name="Fit this dataset…").click()
    page.fill("#name", "first fit")
    for field, value in sampler.items():
        page.fill(f"input[name={field}]", value)
    page.get_by_role("button", name="Queue fit").click()
    assert page.locator(".status").first.inner_text() in ("queued", "running", "succeeded")
    # the page polls the status and reloads itself when the fit finishes
    expect(page.locator("#fit-status .status")).to_have_text("succeeded", timeout=timeout_s * 1000)
    fit_url = page.url
    page.goto(f"{base}/")
    page.screenshot(path=str(shots / "project.png"), full_page=True)
    page.goto(fit_url)
    _wait_until_loaded(page, "#plot-fit", timeout_s=120)
    assert page.eval_on_selector("#plot-fit", "img => img.naturalWidth") > 300
    assert page.locator("#parameters tbody tr").count() >= 5
    assert page.locator("#diagnostics tbody tr").count() == 6

    page.fill("#points", "params=7e9, data=1.4e11")
    page.select_option("#predict-group", "transformer")
    page.click("#predict button[type=submit]")
    expect(page.locator("#prediction tbody tr")).to_have_count(1)
    _wait_until_loaded(page, "#plot-fit", timeout_s=120)
    return fit_url


def test_dashboard_end_to_end_with_mocked_sampler(
    live_server, browser_page, mock_sampler, tmp_path
):
    """The whole walk in a browser, the worker's sampler replaced by prior draws (fast tier)."""
    csv = _example_csv(tmp_path / "runs.csv")
    sampler = {"draws": "50", "tune": "10", "chains": "2", "seed": "1"}
    shots = _screenshot_dir(tmp_path)
    walk_through(browser_page, live_server.url, csv, sampler, timeout_s=120, shots=shots)
    shot = shots / "dashboard-fast.png"
    browser_page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


@pytest.mark.slow
def test_dashboard_end_to_end_with_nuts(live_server, browser_page, tmp_path):
    """The same walk with real NUTS: the fit converges and the page shows it green."""
    csv = _example_csv(tmp_path / "runs.csv")
    sampler = {"draws": "1000", "tune": "1000", "chains": "4", "seed": "1"}  # tests' SLOW
    shots = _screenshot_dir(tmp_path)
    walk_through(browser_page, live_server.url, csv, sampler, timeout_s=1200, shots=shots)
    page = browser_page
    assert page.locator(".pill").inner_text() == "converged"
    # the convergence checks are green (Pareto k is LOO's reliability, not convergence)
    passed = page.locator("#diagnostics tr.pass td:first-child").all_inner_texts()
    assert set(passed) >= {"R-hat (max)", "ESS bulk (min)", "ESS tail (min)", "Divergences"}
    assert "BFMI (min)" in passed
    shot = shots / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    readme = os.environ.get("BAYESCALE_README_SCREENSHOT")
    if readme:  # the README's image: the top of the fit page at a readable width
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=readme, full_page=False)
