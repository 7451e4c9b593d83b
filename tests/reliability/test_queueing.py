"""Under load, a response whose data is already read must not wait for every slow read
queued before it: compression runs on its own small pool (found by the load test, where
all 50 gene answers used to arrive together at the very end)."""

from __future__ import annotations

import threading

from netprobe import request


def test_compressing_a_read_answer_does_not_wait_behind_blocked_reads():
    from cellucid.data import open_source
    from cellucid.server import ServerRunner

    source = open_source(None, demo_cells=5000)
    release = threading.Event()
    real_read = source.gene_by_index

    def gated_read(index: int):
        if index != 0:
            release.wait(60)  # a read stuck on a slow disk
        return real_read(index)

    source.gene_by_index = gated_read
    with ServerRunner(source, port=0) as runner:
        port = runner.port
        first = request(port, "/_cellucid/api/gene?index=0")  # read and cached, not compressed
        assert first.status == 200 and "content-encoding" not in first.headers
        stuck = [threading.Thread(target=request, args=(port, f"/_cellucid/api/gene?index={i}"), daemon=True)
                 for i in range(1, 9)]  # more blocked reads than read workers
        for t in stuck:
            t.start()
        try:
            gz = request(port, "/_cellucid/api/gene?index=0", headers={"Accept-Encoding": "gzip"})
            assert not release.is_set()  # answered while every read worker is still blocked
            assert gz.status == 200 and gz.headers.get("content-encoding") == "gzip"
        finally:
            release.set()
            for t in stuck:
                t.join(30)
