"""Fixtures for the browser tests: Debian's Chromium through Playwright, a real cellucid
server on a demo ``.h5ad`` written to a temp dir, and helpers to read the viewer's pixels."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from browser_helpers import N_CELLS
from browser_page import CHROMIUM, CHROMIUM_ARGS, open_viewer

pytestmark = pytest.mark.browser

N_GENES = 200


# Module scope, not session: a live sync Playwright keeps an asyncio loop running in the main
# thread, which would break later suites that use asyncio.run() or start Playwright themselves.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Demo:
    path: str
    adata: object  # the same data, read back with anndata (the test's independent truth)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    import anndata as ad

    from cellucid.data.demo import write_demo_h5ad

    path = str(tmp_path_factory.mktemp("demo") / "demo.h5ad")
    write_demo_h5ad(path, n_cells=N_CELLS, n_genes=N_GENES)
    return Demo(path=path, adata=ad.read_h5ad(path))


@pytest.fixture(scope="session")
def server(demo):
    from cellucid.anndata_server import AnnDataServer

    srv = AnnDataServer(demo.path, port=0, quiet=True).start_background()
    yield srv
    srv.stop()


@pytest.fixture
def viewer(browser, server):
    v = open_viewer(browser, server.url)
    yield v
    v.page.close()
