"""How one answer is cut into comm messages (``message_parts``): headers in the first part,
every byte exactly once, in order, no part over ``PART_BYTES``."""

from __future__ import annotations

import os

import pytest

import cellucid.widget.comm_transport as ct


@pytest.mark.parametrize("size", [0, 1, ct.PART_BYTES - 1, ct.PART_BYTES, ct.PART_BYTES + 1, 3 * ct.PART_BYTES + 7])
def test_parts_carry_every_byte_once_with_headers_first(size):
    body = os.urandom(size)
    parts = list(ct.message_parts("r1", 200, {"Content-Type": "application/octet-stream"}, body))
    assert len(parts) == max(1, -(-size // ct.PART_BYTES))
    assert [c["part"] for c, _ in parts] == list(range(len(parts)))
    assert all(c["parts"] == len(parts) and c["id"] == "r1" and c["kind"] == "http" for c, _ in parts)
    assert parts[0][0]["status"] == 200 and parts[0][0]["headers"]["Content-Type"] == "application/octet-stream"
    assert all("headers" not in c and "status" not in c for c, _ in parts[1:])
    assert all(len(b) <= 1 and all(len(x) <= ct.PART_BYTES for x in b) for _, b in parts)
    assert b"".join(bytes(x) for _, b in parts for x in b) == body


def test_an_empty_body_is_one_part_without_buffers():
    (content, buffers), = ct.message_parts("r2", 304, {}, b"")
    assert content["status"] == 304 and content["parts"] == 1 and buffers == []
