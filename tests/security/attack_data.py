"""Constants shared by the attack tests (kept out of conftest.py so that test files can
import them whatever other test folders run in the same session)."""

#: Bytes planted outside every served folder; no answer may ever contain them.
SECRET = b"TOP-SECRET-do-not-serve-7f3a"
