"""A real JupyterLab on 127.0.0.1, driven by Debian's headless Chromium.

The facts this harness relies on are in shared/TESTING.md: Debian's
``chromium`` package driven by Playwright's Python API (never
``playwright install``), a token and temporary Jupyter directories, the
news pop-up silenced, every non-local request blocked, ``run-all-cells``
through ``window.jupyterapp.commands.execute`` and shutdown by
``POST /api/shutdown``.

Without Chromium the browser tests skip with a message saying how to install
it, unless ``DEIDSCOPE_REQUIRE_BROWSER=1`` (CI sets it): then they fail.
Screenshots go to ``test-artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("DEIDSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "install Debian's chromium with `bash scripts/install-chromium.sh` "
    "(apt-get install chromium; never `playwright install`)"
)
SERVER_START_TIMEOUT = 60.0
KERNEL_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0


def _require_chromium() -> str:
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"browser tests need Chromium at {CHROMIUM}: {INSTALL_HINT}"
    if os.environ.get("DEIDSCOPE_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (DEIDSCOPE_REQUIRE_BROWSER=1)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LabServer:
    """A running JupyterLab: its URL, token, root folder and process."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, *, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method == "POST" else None,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def lab_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"

    def shutdown(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("/api/shutdown", method="POST")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                self.process.wait(timeout=10)


def start_lab(base: Path) -> LabServer:
    """Start JupyterLab in temporary directories under `base`."""
    root = base / "root"
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "workspaces",
    }
    for path in (root, *dirs.values()):
        path.mkdir(parents=True, exist_ok=True)
    notification = (
        dirs["JUPYTERLAB_SETTINGS_DIR"]
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True)
    notification.write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = dict(os.environ)
    env.update({name: str(path) for name, path in dirs.items()})
    env["PYTHONWARNINGS"] = "ignore"
    port = _free_port()
    token = os.urandom(16).hex()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = base / "jupyterlab.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=root
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process, log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            server.api("/api/status")
            return server
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                server.shutdown()
                raise RuntimeError(
                    f"JupyterLab did not answer in {SERVER_START_TIMEOUT} s:\n"
                    f"{log.read_text()}"
                ) from None
            time.sleep(0.25)


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium executable, or a skip (a failure in CI) saying how to get it."""
    return _require_chromium()


@pytest.fixture(scope="module")
def lab(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server whose root folder is a temporary copy target."""
    server = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Headless Chromium through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class LabPage:
    """A notebook open in JupyterLab, with what went wrong on the page."""

    page: Any
    server: LabServer
    name: str
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def screenshot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.name}-{label}")
        path = ARTIFACTS / f"{stem}.png"
        self.page.screenshot(path=str(path), full_page=False)
        self.shots.append(path)
        return path

    def wait_kernel_idle(self, timeout: float = KERNEL_TIMEOUT) -> None:
        self.page.wait_for_function(
            """() => {
                const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const k = w && w.sessionContext && w.sessionContext.session
                    && w.sessionContext.session.kernel;
                return !!k && k.status === 'idle';
            }""",
            timeout=timeout * 1000,
        )

    def run_all(self, timeout: float = RUN_TIMEOUT) -> None:
        """Run every cell and wait until each code cell has an execution count."""
        self.wait_kernel_idle()
        self.page.evaluate(
            "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
        )
        self.page.wait_for_function(
            """() => {
                const w = window.jupyterapp.shell.currentWidget;
                if (!w || !w.content) return false;
                const cells = w.content.widgets.filter(c => c.model.type === 'code');
                const done = cells.every(c => c.model.executionCount !== null
                    && !c.promptNode.textContent.includes('*'));
                const k = w.sessionContext.session && w.sessionContext.session.kernel;
                return done && k && k.status === 'idle';
            }""",
            timeout=timeout * 1000,
        )

    def cell_errors(self) -> list[str]:
        """Tracebacks shown in the notebook's outputs."""
        texts: list[str] = self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            ", .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']"
        ).all_inner_texts()
        return texts

    def widget_errors(self) -> list[str]:
        found = self.page.get_by_text("Error displaying widget")
        texts: list[str] = found.all_inner_texts()
        return texts

    def image_stats(self, selector: str) -> list[dict[str, Any]]:
        """Decode every image matching `selector` in the page and measure it.

        Returns one dict per image: ``src`` kind, ``width``, ``height``
        (natural size, 0 when it did not decode) and ``min``/``max``/``std``
        of its grey levels, drawn onto a canvas.
        """
        stats: list[dict[str, Any]] = self.page.evaluate(
            """async (selector) => {
                const out = [];
                for (const img of document.querySelectorAll(selector)) {
                    try { await img.decode(); } catch (e) {}
                    const s = {src: (img.src || '').slice(0, 5),
                               width: img.naturalWidth, height: img.naturalHeight,
                               min: 0, max: 0, std: 0};
                    if (img.naturalWidth > 0) {
                        const c = document.createElement('canvas');
                        c.width = img.naturalWidth; c.height = img.naturalHeight;
                        const g = c.getContext('2d');
                        g.drawImage(img, 0, 0);
                        const d = g.getImageData(0, 0, c.width, c.height).data;
                        let n = 0, sum = 0, sq = 0, lo = 255, hi = 0;
                        for (let i = 0; i < d.length; i += 4) {
                            const v = (d[i] + d[i + 1] + d[i + 2]) / 3;
                            n++; sum += v; sq += v * v;
                            if (v < lo) lo = v; if (v > hi) hi = v;
                        }
                        const mean = sum / n;
                        s.min = lo; s.max = hi;
                        s.std = Math.sqrt(Math.max(0, sq / n - mean * mean));
                    }
                    out.push(s);
                }
                return out;
            }""",
            selector,
        )
        return stats


@pytest.fixture
def open_notebook(
    lab: LabServer, browser: Any, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """Return a function copying a notebook into the lab and opening it."""
    contexts: list[Any] = []
    opened: list[LabPage] = []

    def _open(source: Path, *, extra: tuple[Path, ...] = ()) -> LabPage:
        shutil.copy(source, lab.root / source.name)
        for path in extra:
            shutil.copy(path, lab.root / path.name)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        opened_page = LabPage(page, lab, f"{request.node.name}-{source.stem}")
        opened.append(opened_page)
        allowed = (lab.url, "data:", "blob:")

        def _route(route: Any) -> None:
            url = route.request.url
            if url.startswith(allowed):
                route.continue_()
            else:
                opened_page.blocked.append(url)
                route.abort()

        context.route("**/*", _route)
        page.on("pageerror", lambda exc: opened_page.page_errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                opened_page.console_errors.append(msg.text)
                if msg.type == "error"
                else None
            ),
        )
        page.goto(lab.lab_url(source.name))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        return opened_page

    yield _open
    for opened_page in opened:
        with contextlib.suppress(Exception):
            opened_page.screenshot("final")
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
