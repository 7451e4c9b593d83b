"""Names the remote tests share (a module of its own: ``from conftest import`` would pick
whichever folder's conftest.py loaded first)."""

BUCKET = "cellucid-test"  # the bucket moto_server serves the uploaded stores from
