"""A real JupyterHub (hub_harness.py): a user logs in in Chromium, opens a notebook and
``show_anndata`` draws through jupyter-server-proxy under ``/user/<name>/proxy/<port>/``
(the kernel sees ``JUPYTERHUB_SERVICE_PREFIX``; nothing is configured by hand). On a hub
whose single-user server has no jupyter-server-proxy, the widget falls back to the comm.
Both: a selection made in the viewer reaches ``viewer.selection``."""

from __future__ import annotations

import json
import time

import pytest
from hub_harness import NO_PROXY_PREFIX, Hub
from jupyter_harness import cellucid_frame, chromium, output_matching, run_cell, write_notebook

pytestmark = [pytest.mark.jupyter, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

CELLS = [
    "import asyncio, json, os\nimport cellucid\nfrom cellucid.data.demo import demo_anndata\n"
    "viewer = cellucid.show_anndata(demo_anndata(2000), height=420, quiet=True)",
    "await asyncio.sleep(0.5)\nprint('HUB', json.dumps({'transport': viewer.transport, 'status': viewer.status, "
    "'prefix': os.environ.get('JUPYTERHUB_SERVICE_PREFIX'), 'port': viewer.server.port, "
    "'selection': len(viewer.selection)}))",
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub-root")
    write_notebook(root / "hub.ipynb", CELLS)
    with Hub(root) as h:
        yield h


def report(page, want: str, tries: int = 20) -> dict:
    """Run the report cell until its output matches ``want`` (widget messages reach the
    kernel between cells, so a state set in the page may need another run)."""
    got = {}
    for _ in range(tries):
        run_cell(page, 1)
        try:
            got = json.loads(output_matching(page, r"HUB (\{.*\})", timeout=10).group(1))
        except AssertionError:
            continue
        if want in json.dumps(got):
            return got
        time.sleep(0.5)
    raise AssertionError(f"report never showed {want!r}: {got}")


def viewer_frame(page, timeout=120):
    error = "[data-mime-type='application/vnd.jupyter.error']"
    page.wait_for_selector(f"iframe[title='cellucid viewer'], .cellucid-widget-error, {error}", timeout=timeout * 1000)
    assert not page.locator(error).count(), page.locator(error).first.inner_text()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert not page.locator(".cellucid-widget-error").count(), page.locator(".cellucid-widget-error").inner_text()
        fr = cellucid_frame(page)
        if fr is not None:
            page.locator("iframe[title='cellucid viewer']").first.scroll_into_view_if_needed()
            fr.wait_for_selector('body[data-ready="1"]', state="attached", timeout=timeout * 1000)
            return fr
        time.sleep(0.3)
    raise AssertionError(f"no viewer frame; frames: {[f.url for f in page.frames]}")


@pytest.mark.parametrize("user", ["alice", f"{NO_PROXY_PREFIX}-bob"])
def test_hub_user_sees_the_viewer_and_selects(hub, user):
    with chromium() as new_page:
        page = new_page()
        base = hub.login(page, user)
        page.goto(f"{base}lab/tree/hub.ipynb?reset")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                               timeout=120_000)
        run_cell(page, 0)
        with_proxy = not user.startswith(NO_PROXY_PREFIX)
        frame = viewer_frame(page)
        written_in = page.locator("iframe[title='cellucid viewer']").first.get_attribute("srcdoc") is not None
        assert written_in == (not with_proxy)
        if with_proxy:
            assert f"/user/{user}/proxy/" in frame.url and "embed=1" in frame.url
        else:
            assert "cannot reach the data server" in page.locator(".cellucid-transport-note").inner_text()
        got = report(page, '"status": "ok"')
        assert got["prefix"] == f"/user/{user}/"
        assert got["transport"] == ("proxy" if with_proxy else "comm"), got
        if with_proxy:
            assert f"/user/{user}/proxy/{got['port']}/" in frame.url
        frame.evaluate("() => window.cellucid.select([3, 5, 8, 13, 21])")
        assert report(page, '"selection": 5')["selection"] == 5
        page.close()
