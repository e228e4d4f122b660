"""Browser tests: the fixtures (Debian's chromium through Playwright, a running `labweb demo`) live in
tests/browser_fixtures.py, shared with the scenarios; run them in a pytest invocation of their own (scripts/test)."""
