"""Drive the course in a real JupyterLab, in headless Chromium, the way a learner would.

``tests/test_browser.py`` uses this module: it starts JupyterLab on a copy of the notebooks, opens a
notebook in Chromium through Playwright, runs every cell and reads what the page shows.

Lessons baked in (each one cost a hung or wrong run before):

- JupyterLab refuses to run as root without ``--allow-root``, and CI runs as root;
- autosave is switched off and the server works on a copy, or an executed notebook overwrites the source;
- readiness is read from JupyterLab's notebook model (``window.jupyterapp``), not from the DOM, whose
  kernel indicator says "idle" before a kernel even exists;
- the run-all command's promise is never awaited: Playwright's ``evaluate`` has no timeout and that
  promise can stay pending for minutes;
- the "official Jupyter news" toast is switched off, or it covers the screenshots;
- cells are attached to the page even when scrolled out of view (windowing mode "none"), so every
  widget and plot can be found.

Chromium comes from the system (Debian's ``chromium`` package, ``/usr/bin/chromium``; another binary
can be named with ``LIGHTNETS_CHROMIUM``); ``playwright install`` and its browser download are not used.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path(os.environ.get("LIGHTNETS_CHROMIUM", "/usr/bin/chromium"))
INSTALL_HINT = (
    "install Chromium with `apt-get install chromium` (Debian/Ubuntu, gives /usr/bin/chromium; or point "
    "LIGHTNETS_CHROMIUM at a Chromium or Chrome binary) and Playwright with `pip install playwright` "
    "(part of `pip install -e .[dev]`); `playwright install` is not needed"
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab settings of a throwaway user, in JupyterLab's own settings-file layout.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
VIEWPORT = {"width": 1400, "height": 1800}


def missing_browser_tools(chromium: Path = CHROMIUM) -> str | None:
    """Say what is missing to run the browser test and how to install it; ``None`` when all is there."""
    missing = []
    if not (chromium.is_file() and os.access(chromium, os.X_OK)):
        missing.append(f"Chromium ({chromium} not found)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Python Playwright (not importable)")
    if not missing:
        return None
    return f"The browser test needs {' and '.join(missing)}: {INSTALL_HINT}."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server of its own: random port, secret token, isolated settings, fast-mode kernels.

    Use it as a context manager; leaving the block stops the server and its kernels whatever happened::

        with JupyterLab(root_dir=copy_of_notebooks, home=tmp_path / "jupyter") as lab:
            page.goto(lab.url("lab/tree/02_depthwise_separable.ipynb"))

    ``root_dir`` is what the file browser shows and where kernels start; ``home`` receives the
    server's configuration, runtime files and log (``home / "jupyterlab.log"``).
    """

    def __init__(self, root_dir: Path, home: Path, startup_timeout_s: float = 90.0) -> None:
        self.root_dir = Path(root_dir)
        self.home = Path(home)
        self.startup_timeout_s = startup_timeout_s
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.log_path = self.home / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "") -> str:
        """Address of ``path`` on this server, with the token that logs the browser in."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}?token={self.token}"

    def _environment(self) -> dict[str, str]:
        config_dir = self.home / "config"
        settings_dir = config_dir / "lab" / "user-settings"
        for name, settings in LAB_SETTINGS.items():
            path = settings_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        env = dict(os.environ)
        env.update(
            # A learner's own Jupyter configuration, kernels or workspaces must not change the result.
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
            # Kernels inherit the server's environment: the notebooks' parameters cells read this.
            LIGHTNETS_FAST="1",
        )
        return env

    def start(self) -> JupyterLab:
        """Start the server from this Python environment and wait until it answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.expose_app_in_browser=True",
        ]
        with open(self.log_path, "wb") as log:
            # A session of its own: Ctrl-C in pytest's terminal reaches pytest (whose fixture then stops
            # the server) rather than the server's interactive "Shutdown this Jupyter server?" prompt.
            self.process = subprocess.Popen(
                command,
                env=self._environment(),
                cwd=self.root_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.process.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "api/status")
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        raise TimeoutError(
            f"JupyterLab did not answer within {self.startup_timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API (``GET api/kernels``...) and return the decoded JSON, if any."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every running kernel, so that one notebook's kernel does not slow down the next."""
        for kernel in self.api("GET", "api/kernels"):
            self.api("DELETE", f"api/kernels/{kernel['id']}")

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the server and its kernels: politely first, then by force."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # jupyter-server shuts its kernels down on SIGTERM
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            # Kernels run in sessions of their own and exit by themselves once their parent is gone.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout_s)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote, for error messages."""
        if not self.log_path.is_file():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> JupyterLab:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def copy_notebooks(source_dir: Path, target_dir: Path) -> Path:
    """Copy the ``*.ipynb`` files of ``source_dir`` into ``target_dir``, which JupyterLab may then change."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        shutil.copy2(path, target_dir / path.name)
    return target_dir


# --- the notebook in the page ------------------------------------------------------------------------
# The snippets below read JupyterLab's own model of the notebook open in the main area. They start
# with this one: the notebook panel and its code cells, each with its index among all cells, model,
# outputs, tags and page element.
_CODE_CELLS = """
    const panel = window.jupyterapp.shell.currentWidget;
    const codeCells = [];
    panel.content.widgets.forEach((widget, index) => {
        const model = widget.model;
        if (model.type !== 'code') return;
        const outputs = Array.from({length: model.outputs.length}, (_, j) => model.outputs.get(j));
        const tags = model.getMetadata('tags') || [];
        codeCells.push({index, model, outputs, tags, node: widget.node});
    });
    // Cells tagged raises-exception may fail on purpose (as in nbval and nbclient).
    const unexpectedErrors = cell => cell.tags.includes('raises-exception')
        ? [] : cell.outputs.filter(output => output.type === 'error');
"""

_NOTEBOOK_OPEN = """(name) => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.context || panel.context.path !== name || !panel.context.isReady) return false;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return panel.sessionContext.isReady && !!kernel && kernel.status === 'idle';
}"""

# Fire and forget: returning the command's promise would make Playwright wait on it without a timeout.
_CLEAR_AND_RUN_ALL = """() => {
    const commands = window.jupyterapp.commands;
    commands.execute('notebook:clear-all-cell-outputs');
    commands.execute('notebook:run-all-cells');
}"""

_CELL_STATES = f"""() => {{
    {_CODE_CELLS}
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return {{
        kernel: kernel ? kernel.status : 'none',
        cells: codeCells.map(cell => ({{
            count: cell.model.executionCount,
            unexpected_errors: unexpectedErrors(cell).length,
        }})),
    }};
}}"""

# Done when the kernel is idle and every code cell has run, or when an unexpected error stopped the run
# (JupyterLab then skips the remaining cells).
_RUN_FINISHED = f"""() => {{
    const state = ({_CELL_STATES})();
    if (state.kernel !== 'idle') return false;
    return state.cells.every(c => c.count !== null) || state.cells.some(c => c.unexpected_errors > 0);
}}"""

# What a learner would read as "it broke": error outputs, tracebacks printed by widget callbacks
# (they land in the widget's output area, not in the notebook model) and widgets that failed to render.
_VISIBLE_PROBLEMS = f"""() => {{
    {_CODE_CELLS}
    const problems = [];
    for (const cell of codeCells) {{
        if (cell.tags.includes('raises-exception')) continue;
        for (const error of unexpectedErrors(cell)) {{
            const raw = error.toJSON();
            problems.push(`cell ${{cell.index}}: ${{raw.ename}}: ${{raw.evalue}}`);
        }}
        const widgetOutputs = cell.node.querySelectorAll('.widget-output, .jupyter-widgets-output-area');
        if (Array.from(widgetOutputs).some(node => node.innerText.includes('Traceback'))) {{
            problems.push(`cell ${{cell.index}}: a widget shows a traceback`);
        }}
        if (cell.node.innerText.includes('Error displaying widget')) {{
            problems.push(`cell ${{cell.index}}: a widget failed to display`);
        }}
    }}
    return problems;
}}"""

# Widget views the model holds that have no rendered widget on the page yet.
_UNRENDERED_WIDGETS = f"""() => {{
    {_CODE_CELLS}
    const mime = 'application/vnd.jupyter.widget-view+json';
    const views = codeCells.flatMap(cell => cell.outputs).filter(output => mime in output.data).length;
    // A drawn widget is the root element of a cell's output (outputs nested in widgets do not count).
    const rendered = Array.from(panel.node.querySelectorAll('.jp-OutputArea-output'))
        .filter(node => !node.parentElement.closest('.widget-output'))
        .filter(node => Array.from(node.children).some(child => child.classList.contains('jupyter-widgets')))
        .length;
    return Math.max(0, views - rendered);
}}"""

_PNG_OUTPUTS = f"""() => {{
    {_CODE_CELLS}
    return codeCells.flatMap(cell => cell.outputs).filter(output => 'image/png' in output.data).length;
}}"""

_OUTPUT_TEXTS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-OutputArea-output'))
    .map(node => node.innerText)"""

# What the cell holding a slider displays besides the slider itself: text and pictures.
_SLIDER_CELL_STATE = """(slider) => {
    const cell = slider.closest('.jp-Cell');
    const readout = slider.querySelector('.widget-readout');
    const shown = Array.from(cell.querySelectorAll('.widget-output, .jupyter-widgets-output-area'));
    return {
        readout: readout ? (readout.innerText || readout.value || '') : '',
        output: shown.map(node => node.innerText).join('\\n'),
        images: Array.from(cell.querySelectorAll('img')).map(img => img.src),
    };
}"""


@dataclass(frozen=True)
class RunResult:
    """What running every cell gave: time taken, each code cell's execution count, widgets not shown."""

    seconds: float
    execution_counts: list[int | None]
    unrendered_widgets: int


@dataclass(frozen=True)
class SliderMove:
    """A slider's readout and its cell's displayed result, before and after one key press."""

    readout_before: str
    readout_after: str
    output_before: str
    output_after: str
    images_before: list[str]
    images_after: list[str]

    @property
    def result_changed(self) -> bool:
        """True when the text or a picture shown under the slider changed."""
        return (self.output_before, self.images_before) != (self.output_after, self.images_after)


def open_notebook(page, lab: JupyterLab, name: str, timeout_s: float = 120.0) -> None:
    """Open notebook ``name`` (relative to the server's root) and wait until its kernel is idle."""
    # `reset` starts from an empty workspace: the server would otherwise reopen, and start kernels
    # for, every notebook an earlier page had open.
    page.goto(lab.url(f"lab/tree/{name}") + "&reset")
    page.wait_for_function(_NOTEBOOK_OPEN, arg=name, timeout=timeout_s * 1000, polling=250)


def run_all_cells(page, timeout_s: float = 180.0, widget_timeout_s: float = 30.0) -> RunResult:
    """Clear the outputs, run every cell, and wait until the kernel is idle with every code cell run.

    Returns early when a cell fails unexpectedly (JupyterLab then skips the rest): the execution
    counts of the skipped cells are ``None``, and ``visible_problems`` names the error. Then waits up
    to ``widget_timeout_s`` for every widget the cells displayed to be drawn on the page.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    start = time.monotonic()
    page.evaluate(_CLEAR_AND_RUN_ALL)
    page.wait_for_function(_RUN_FINISHED, timeout=timeout_s * 1000, polling=250)
    seconds = time.monotonic() - start
    try:
        page.wait_for_function(f"() => ({_UNRENDERED_WIDGETS})() === 0", timeout=widget_timeout_s * 1000)
    except PlaywrightTimeoutError:
        pass  # reported through unrendered_widgets
    return RunResult(
        seconds=seconds,
        execution_counts=[cell["count"] for cell in page.evaluate(_CELL_STATES)["cells"]],
        unrendered_widgets=page.evaluate(_UNRENDERED_WIDGETS),
    )


def visible_problems(page) -> list[str]:
    """Errors a learner would see in the open notebook, one line each (none for a healthy notebook)."""
    return page.evaluate(_VISIBLE_PROBLEMS)


def png_output_count(page) -> int:
    """How many ``image/png`` outputs (plots) the notebook model holds."""
    return page.evaluate(_PNG_OUTPUTS)


def output_texts(page) -> list[str]:
    """The text of every output area on the page, as displayed."""
    return page.evaluate(_OUTPUT_TEXTS)


def move_first_slider(page, timeout_s: float = 60.0) -> SliderMove:
    """Press an arrow key on the first slider's handle, as a learner would, and report the change.

    The right arrow, or the left one for a slider that starts at its maximum. An ``interact_manual`` button in the same widget is clicked. Waits up to ``timeout_s`` until the
    readout changed and, when the slider drives an output area (``interact``), until that output shows
    something new, then returns what it saw either way (the caller asserts).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    slider = page.locator(".widget-slider").first
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle").first
    before = slider.evaluate(_SLIDER_CELL_STATE)
    at_maximum = float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax"))
    handle.focus()
    handle.press("ArrowLeft" if at_maximum else "ArrowRight")
    run_button = page.locator(".jp-Cell", has=slider).locator(".widget-interact button")
    if run_button.count():
        run_button.first.click()
    try:
        page.wait_for_function(
            f"""([slider, before]) => {{
                const now = ({_SLIDER_CELL_STATE})(slider);
                const drivesOutput = slider.closest('.jp-Cell').querySelector('.widget-output') !== null;
                const resultChanged = now.output !== before.output
                    || JSON.stringify(now.images) !== JSON.stringify(before.images);
                return now.readout !== before.readout && (resultChanged || !drivesOutput);
            }}""",
            arg=[slider.element_handle(), before],
            timeout=timeout_s * 1000,
            polling=250,
        )
    except PlaywrightTimeoutError:
        pass  # the caller's assertions say what did not change
    after = slider.evaluate(_SLIDER_CELL_STATE)
    return SliderMove(
        readout_before=before["readout"],
        readout_after=after["readout"],
        output_before=before["output"],
        output_after=after["output"],
        images_before=before["images"],
        images_after=after["images"],
    )
