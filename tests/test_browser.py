"""The student's real path in a real browser: JupyterLab on 127.0.0.1, driven by Chromium.

The `browser` tier (run by ``--all-tiers`` and in CI): JupyterLab starts from the test
environment with the sparkmonitor kernel extension and the Binder settings
(``binder/overrides.json``); Chromium opens the Day 1 student notebook and runs every cell.
Then: no cell shows stderr or an error, and the sparkmonitor panel sits in the cell whose
Spark job it lists. Screenshots land in a folder the test prints (CI keeps them).

Chromium and its driver come from Debian's packages (``chromium``, ``chromium-driver``),
which ``.ci/run`` installs when they are missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mlcourse.runtime.standalone import free_port

from .conftest import ROOT

pytestmark = pytest.mark.browser

NOTEBOOK = "day1_input_data.ipynb"
#: Day 1b runs in the same JupyterLab afterwards: its Spark UI is opened through the proxy.
INTERNALS = "day1b_spark_internals.ipynb"
#: Where the screenshots go: $MLCOURSE_ARTIFACTS/browser (CI) or the test's temporary folder.
ARTIFACTS_ENV = "MLCOURSE_ARTIFACTS"


def _executable(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"none of {', '.join(names)} is installed: the browser tier needs Debian's "
        "`chromium` and `chromium-driver` (sudo apt-get install chromium chromium-driver; "
        ".ci/run installs them)"
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with the course's kernel and lab settings."""
    base = tmp_path_factory.mktemp("lab")
    root, data = base / "work", base / "data"
    root.mkdir()
    for name in (NOTEBOOK, INTERNALS):
        shutil.copy(ROOT / "notebooks" / "student" / name, root / name)
    # the kernel loads sparkmonitor's extension, as binder/postBuild configures it
    profile = base / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(
        'c.InteractiveShellApp.extensions.append("sparkmonitor.kernelextension")\n'
    )
    settings = base / "settings"
    settings.mkdir()
    shutil.copy(ROOT / "binder" / "overrides.json", settings / "overrides.json")
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "IPYTHONDIR": str(base / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "MLCOURSE_PROFILE": "binder",  # what a student gets on Binder
        "MLCOURSE_EVENTS": "20k",
        "MLCOURSE_SOURCE": "synthetic",
        "MLCOURSE_DATA_DIR": str(data),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    log = (base / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.app_settings_dir={settings}",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # JupyterLab answers within about 10 s on an idle 2-core machine; 120 s allows for
        # a loaded one, and a server that exits is reported at once.
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "JupyterLab did not start:\n" + (base / "jupyterlab.log").read_text()
                    )
                time.sleep(0.5)
        yield url, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _executable("chromium", "chromium-browser", "google-chrome")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console
    service = Service(_executable("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    root = os.environ.get(ARTIFACTS_ENV)
    folder = Path(root) / "browser" if root else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {folder}")
    return folder


def _wait(driver, condition, timeout: float, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)
    except TimeoutException:
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _cells(driver) -> list[dict]:
    """Every code cell of the open notebook: its source's first line, its prompt, the mime
    types of its outputs, and the jobs of a sparkmonitor panel inside it."""
    return driver.execute_script(
        """
        return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')]
          .map(cell => ({
            source: (cell.querySelector('.jp-InputArea .cm-content') || {}).innerText || '',
            prompt: (cell.querySelector('.jp-InputPrompt') || {}).innerText || '',
            outputs: [...cell.querySelectorAll('.jp-OutputArea-output')]
              .map(o => o.getAttribute('data-mime-type') || ''),
            links: [...cell.querySelectorAll('.jp-OutputArea-output a')].map(a => a.href),
            stderr: [...cell.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
              .map(o => o.innerText),
            monitor: [...cell.querySelectorAll('.sparkMonitorCellRoot')].map(root => ({
              after_input: !!(root.compareDocumentPosition(cell.querySelector('.jp-InputArea'))
                              & Node.DOCUMENT_POSITION_PRECEDING),
              jobs: [...root.querySelectorAll('.jobrow')].map(row => ({
                name: (row.querySelector('.tdjobname') || {}).innerText || '',
                status: (row.querySelector('.tdjobstatus') || {}).innerText || '',
              })),
            })),
          }));
        """
    )


def _run_all(browser, url: str, token: str, notebook: str, artifacts: Path, tag: str) -> list:
    """Open ``notebook`` in JupyterLab, wait for the kernel and sparkmonitor's channel, run
    every cell from the Run menu as a student does, and return the cells once all ran."""
    from selenium.webdriver.common.by import By

    # a workspace of its own, reset: JupyterLab would otherwise restore the tabs of the
    # previous notebook and make one of them the active panel
    browser.get(f"{url}/lab/workspaces/{tag}/tree/{notebook}?reset&token={token}")
    _wait(
        browser,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell")
            and d.find_elements(
                By.CSS_SELECTOR, ".jp-Notebook-ExecutionIndicator[data-status='idle']"
            )
        ),
        120,
        "the notebook and an idle kernel",
    )
    # sparkmonitor's front end opens its channel to the kernel once the notebook is shown;
    # a request to open it waits behind any cell already queued, so start once it is open
    console: list[str] = []

    def monitor_connected(driver):
        console.extend(str(entry.get("message", "")) for entry in driver.get_log("browser"))
        return any("Connection with comms established" in line for line in console)

    _wait(browser, monitor_connected, 120, "sparkmonitor's connection to the kernel")
    browser.save_screenshot(str(artifacts / f"{tag}-1-opened.png"))
    # Run > Run All Cells, as a student does
    browser.find_element(
        By.XPATH, "//li[contains(@class,'lm-MenuBar-item')][.//div[text()='Run']]"
    ).click()
    _wait(
        browser,
        lambda d: d.find_elements(By.XPATH, "//li[@data-command='runmenu:run-all']"),
        10,
        "the Run menu",
    )
    browser.find_element(By.XPATH, "//li[@data-command='runmenu:run-all']").click()

    def finished(driver):
        cells = _cells(driver)
        prompts = [c["prompt"] for c in cells]
        return cells if all(p.strip().strip("[]:").isdigit() for p in prompts) else False

    _wait(browser, finished, 600, "every cell to run")
    time.sleep(2)  # the monitor's last updates
    cells = _cells(browser)
    browser.save_screenshot(str(artifacts / f"{tag}-2-ran.png"))
    (artifacts / f"{tag}-cells.json").write_text(json.dumps(cells, indent=1))
    assert [c["stderr"] for c in cells if c["stderr"]] == [], "stderr or an error in a cell"
    assert not any("application/vnd.jupyter.error" in c["outputs"] for c in cells)
    return cells


def test_day1_runs_in_jupyterlab_without_red_boxes_and_with_the_monitor(lab, browser, artifacts):
    from selenium.webdriver.common.by import By

    url, token, _root = lab
    cells = _run_all(browser, url, token, NOTEBOOK, artifacts, "day1")
    spark_index = next(i for i, c in enumerate(cells) if "%spark" in c["source"])
    spark_cell = cells[spark_index]
    assert spark_cell["stderr"] == [], "red boxes under the %spark cell"
    # the monitor sits under the code of the very cell whose job it lists
    (panel,) = spark_cell["monitor"]
    assert panel["after_input"]
    # sparkmonitor's front end files a job under the cell it last saw start: under Run All,
    # the first jobs of the %spark cell can land in the panel of the cell above it (a race
    # of sparkmonitor's, seen in 1 CI run of 3; cells run one by one are not affected)
    above = [job for p in cells[spark_index - 1]["monitor"] for job in p["jobs"]]
    startup = panel["jobs"] or above
    assert startup, "neither the %spark cell's panel nor the one above it lists a job"
    assert all(job["status"].strip().upper() == "COMPLETED" for job in startup)
    # mlcourse's own steps carry readable names (the panel shows a name up to its first space)
    names = [job["name"] for c in cells for p in c["monitor"] for job in p["jobs"]]
    assert any(name.startswith("mlcourse:") for name in names), names
    # %plotSignalvsBg df m_bb: the plot's range (a count and the quantiles: two aggregations)
    # and the histogram (one), each aggregation two jobs under adaptive execution (the stage
    # before the shuffle runs as a job of its own), all six named after mlcourse's step
    # (under Run All, sparkmonitor's front end can file a cell's jobs in the panel of the
    # cell above, a race of its own seen in 1 local run of 4: the six stay together in one
    # panel, of this cell or of the one above)
    plot_index = next(i for i, c in enumerate(cells) if c["source"].startswith("%plotSignalvsBg"))
    expected = sorted(
        ["mlcourse:plot_ranges_of_m_bb"] * 4 + ["mlcourse:histogram_of_m_bb_by_label"] * 2
    )
    panels = [
        sorted(job["name"] for job in p["jobs"])
        for cell in cells[plot_index - 1 : plot_index + 1]
        for p in cell["monitor"]
    ]
    assert expected in panels, panels
    browser.execute_script(
        "arguments[0].scrollIntoView()",
        browser.find_elements(By.CSS_SELECTOR, ".sparkMonitorCellRoot")[0],
    )
    browser.save_screenshot(str(artifacts / "3-monitor.png"))
    plot_cell = browser.find_elements(By.CSS_SELECTOR, ".jp-CodeCell")[plot_index]
    browser.execute_script("arguments[0].scrollIntoView()", plot_cell)
    browser.execute_script("window.scrollBy(0, -250)")
    browser.save_screenshot(str(artifacts / "4-plot-cell.png"))


def test_day1b_runs_and_its_spark_ui_opens_through_the_jupyter_server(lab, browser, artifacts):
    """Day 1b runs clean, beside Day 1's kernel (whose UI holds port 4040, so Day 1b's gets
    the next, chosen before its Spark starts); the link %spark shows goes through
    jupyter-server-proxy, not to the UI's own port, and the Jobs page there lists
    mlcourse's named jobs, with links that stay under the proxy."""
    from selenium.webdriver.common.by import By

    url, token, _root = lab
    cells = _run_all(browser, url, token, INTERNALS, artifacts, "day1b")
    spark_cell = next(c for c in cells if "%spark" in c["source"])
    (link,) = spark_cell["links"]
    assert link.startswith(f"{url}/proxy/") and link.endswith("/jobs/"), link
    ui_port = int(link.removeprefix(f"{url}/proxy/").split("/")[0])

    browser.get(link)
    _wait(
        browser,
        lambda d: "mlcourse: histogram of m_bb by label" in d.page_source,
        60,
        "the Spark UI's Jobs page with mlcourse's named jobs, through the proxy",
    )
    # Day 1b's own application (its job groups), not Day 1's, whose kernel still runs
    assert "all 29 columns" in browser.page_source
    assert browser.current_url.startswith(f"{url}/proxy/{ui_port}/")
    browser.save_screenshot(str(artifacts / "day1b-3-spark-ui-through-the-proxy.png"))
    # the UI's own links carry the proxy's path (spark.ui.proxyBase): its Stages tab opens
    stages = browser.find_element(By.XPATH, "//a[normalize-space(text())='Stages']")
    assert stages.get_attribute("href") == f"{url}/proxy/{ui_port}/stages/"
    stages.click()
    _wait(browser, lambda d: "Completed Stages" in d.page_source, 60, "the Stages page")
    browser.save_screenshot(str(artifacts / "day1b-4-stages-through-the-proxy.png"))
