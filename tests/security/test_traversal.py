"""Path traversal against every route that maps to files: refused with a JSON 404 (400 for
malformed requests), and nothing outside the viewer folder is ever read."""

from __future__ import annotations

import pytest

from attack_data import SECRET
from netprobe import request

TRAVERSALS = [
    "/assets/../secret.txt",
    "/assets/../../secret.txt",
    "/assets/../../../../../../etc/passwd",
    "/assets/..%2fsecret.txt",
    "/assets/..%2f..%2fsecret.txt",
    "/assets/%2e%2e/secret.txt",
    "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/assets/%2E%2E%2Fsecret.txt",
    "/assets/%252e%252e%252fsecret.txt",          # double-encoded
    "/assets/%25252e%25252e%25252fsecret.txt",    # triple-encoded
    "/assets/..%252fsecret.txt",
    "/assets//etc/passwd",                         # absolute after the prefix
    "/assets/%2fetc%2fpasswd",
    "/assets/%2Fetc/passwd",
    "/assets/..\\secret.txt",                      # backslashes
    "/assets/..%5csecret.txt",
    "/assets/..%5c..%5csecret.txt",
    "/assets/app.js%00.css",                       # NUL bytes
    "/assets/%00",
    "/assets/..%00/secret.txt",
    "/assets/link.txt",                            # symlink to a file outside the folder
    "/assets/linkdir/secret.txt",                  # symlinked directory outside the folder
    "/assets/abs.txt",                             # symlink to an absolute system file
    "/assets/./../secret.txt",
    "/assets/app.js/../../secret.txt",
    "/assets/.",
    "/assets/..",
    "/assets/",
    "/assets/C:%5cWindows%5cwin.ini",
    "/assets/%c0%ae%c0%ae/secret.txt",             # overlong UTF-8 dots
    "/..%2fsecret.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "//etc/passwd",
    "/secret.txt",
    "/index.html/../secret.txt",
    "/index.html%00",
    "/dataset_identity.json/../../secret.txt",
    "/_cellucid/api/../../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_is_refused_and_reads_nothing(server, target):
    answer = request(server.port, target)
    assert answer.status in (400, 404), (target, answer.status, answer.body[:200])
    assert answer.is_json_error()
    assert SECRET not in answer.body
    assert b"root:" not in answer.body  # /etc/passwd


def test_the_real_asset_is_still_served(server):
    answer = request(server.port, "/assets/app.js")
    assert answer.status == 200 and answer.body == b"console.log('viewer');"


@pytest.mark.parametrize("target", ["/assets/link.txt", "/assets/app.js%00.css", "/assets/../secret.txt"])
def test_head_requests_are_refused_the_same_way(server, target):
    answer = request(server.port, target, method="HEAD")
    assert answer.status == 404
    assert SECRET not in answer.body


def test_all_refusals_look_alike(server):
    # A missing file, a traversal and a symlink out of the folder give the same answer,
    # so a probe cannot tell which paths exist outside.
    bodies = {request(server.port, t).body for t in
              ("/assets/missing.js", "/assets/../secret.txt", "/assets/link.txt", "/assets/%00")}
    assert len(bodies) == 1


def test_absolute_uri_in_the_request_line_is_not_a_way_out(server):
    answer = request(server.port, "http://127.0.0.1/assets/../../secret.txt")
    assert answer.status in (400, 404) and SECRET not in answer.body
