"""bench/retry.py and run.py's ``measured``: a measurement that fails once is retried, the retry
is recorded beside the figure, and a second failure is a failure."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import retry  # noqa: E402
import run  # noqa: E402


class FailsFirst:
    """A measurement that raises on its first ``fails`` calls, then returns a figure."""

    def __init__(self, fails: int):
        self.fails = fails
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        if self.calls <= self.fails:
            raise ConnectionResetError(f"attempt {self.calls} lost its connection")
        return {"first_frame_s": 1.5}


def test_success_first_time_is_called_once_and_not_marked():
    fn, lines = FailsFirst(0), []
    assert retry.once(fn, "browser x", lines.append) == ({"first_frame_s": 1.5}, None)
    assert fn.calls == 1 and lines == []


def test_failing_once_is_retried_and_the_first_error_returned():
    fn, lines = FailsFirst(1), []
    value, first = retry.once(fn, "browser x", lines.append)
    assert value == {"first_frame_s": 1.5} and fn.calls == 2
    assert first == "ConnectionResetError: attempt 1 lost its connection"
    assert len(lines) == 1 and "retrying once" in lines[0] and "browser x" in lines[0]


def test_failing_twice_raises_with_both_errors_and_no_third_try():
    fn = FailsFirst(2)
    with pytest.raises(retry.FailedTwice) as info:
        retry.once(fn, "notebook y", lambda _m: None)
    assert fn.calls == 2
    assert "attempt 1" in str(info.value) and "attempt 2" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionResetError)


def test_measured_records_the_retry_in_the_results_and_the_row():
    results = {"retries": []}
    row = run.measured(results, FailsFirst(1), "http cellucid 100k", lambda _m: None)
    assert row["first_frame_s"] == 1.5 and "attempt 1" in row["retried"]
    assert results["retries"] == [{"where": "http cellucid 100k", "first_error": row["retried"]}]


def test_measured_without_failure_leaves_no_trace():
    results = {"retries": []}
    assert run.measured(results, FailsFirst(0), "http cellucid 100k", lambda _m: None) == {"first_frame_s": 1.5}
    assert results["retries"] == []


def test_wait_importable_passes_when_the_peer_python_imports_its_modules(tmp_path, monkeypatch):
    import peers

    (tmp_path / "venv-fake" / "bin").mkdir(parents=True)
    (tmp_path / "venv-fake" / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setattr(peers, "CACHE", tmp_path)
    monkeypatch.setitem(peers.PEERS, "fake", ("venv-fake", "fake==1", "python"))
    monkeypatch.setitem(peers.IMPORTS, "fake", ("json", "csv"))
    assert peers.wait_importable("fake", timeout=60, log=lambda _m: None)[0]
    monkeypatch.setitem(peers.IMPORTS, "fake", ("json", "no_such_module_cellucid"))
    ok, msg = peers.wait_importable("fake", timeout=1, log=lambda _m: None)
    assert not ok and "no_such_module_cellucid" in msg
