"""Flower on a real cluster, seen through headless Chromium (Selenium + Debian's chromedriver)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
from ops_support import ARTIFACTS, free_port, http_get, wait_for

from shardy.ops.flower import flower_command, flower_env, start_flower

pytestmark = pytest.mark.cluster

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
#: Flags that keep the browser off the network and out of first-run work.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
)  # fmt: skip


@pytest.fixture
def flower(ops_cluster) -> Iterator[str]:
    """Flower (started by shardy.ops.flower) on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    proc = start_flower(ops_cluster.settings, port, ops_cluster.cluster.logdir)
    base = f"http://127.0.0.1:{port}"
    log = ops_cluster.cluster.logdir / "flower.log"
    try:

        def healthy() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"flower exited with {proc.returncode}: {log.read_text()[-2000:]}")
            return http_get(f"{base}/healthcheck") == "OK"

        wait_for("flower to answer /healthcheck", healthy)
        # Flower keeps only what it sees: wait until it consumes worker events before work runs
        # (its own metrics mark a worker online on a worker-online or heartbeat event)
        wait_for(
            "flower to receive worker events",
            lambda: 'flower_worker_online{worker="gpu' in http_get(f"{base}/metrics"),
        )
        yield base
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        if log.exists():
            shutil.copy(log, ARTIFACTS / "flower.log")
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium driven by Debian's chromedriver, with a fresh profile."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium "
                    "chromium-driver); the Flower UI check needs a real browser")  # fmt: skip
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    profile = tempfile.mkdtemp(prefix="shardy-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_flower_command_names_the_port_and_keeps_the_broker_off_the_command_line(ops_cluster):
    cmd = flower_command(5599)
    assert cmd[1:6] == ["-m", "celery", "-A", "shardy.celery_app", "flower"]
    assert "--port=5599" in cmd and "--address=127.0.0.1" in cmd
    assert not any(arg.startswith("--broker") for arg in cmd)  # URLs may carry passwords
    env = flower_env(ops_cluster.settings, base={})
    assert env["SHARDY_HOME"] == str(ops_cluster.settings.home)  # the broker comes from here
    with pytest.raises(ValueError):
        flower_command(0)


def test_flower_shows_shardy_tasks_and_gpu_workers(ops_cluster, flower, browser):
    from selenium.webdriver.common.by import By

    # Workers send task events only once Flower's enable_events broadcast reached them: keep
    # submitting pairs of tasks until the page lists the replicas of one pair
    ARTIFACTS.mkdir(exist_ok=True)
    submitted: list[str] = []

    def task_rows() -> list[str]:
        ids = [ops_cluster.client.submit("histogram", bytes([i]) * 4096).get(timeout=120).task_id
               for i in range(2)]  # fmt: skip
        submitted.extend(ids)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            browser.get(f"{flower}/tasks")
            rows = browser.find_elements(By.CSS_SELECTOR, "#tasks-table tbody tr")
            texts = [r.text for r in rows]
            done = [t for t in texts if "shardy.execute" in t and "SUCCESS" in t]
            if len(done) >= 2 * len(ids):
                return done
            time.sleep(1)
        return []

    try:
        rows = wait_for("the tasks page to list the replicas", task_rows, timeout=90)
    finally:
        browser.save_screenshot(str(ARTIFACTS / "flower-tasks.png"))
    assert any("histogram" in r for r in rows), rows  # a group's kernels show in its row
    # (a grouped round's collect is an entry on a Redis list, not a Celery task: no row)

    browser.get(f"{flower}/workers")
    host = ops_cluster.cluster.host

    def workers_listed() -> bool:
        text = browser.find_element(By.TAG_NAME, "body").text
        return all(f"gpu{i}@{host}" in text for i in range(2)) and "Online" in text

    try:
        wait_for("the workers page to show both gpu workers online", workers_listed, timeout=60)
    finally:
        browser.save_screenshot(str(ARTIFACTS / "flower-workers.png"))
