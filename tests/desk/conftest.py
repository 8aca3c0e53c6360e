"""Fixtures for the desk: the app on a real uvicorn server, and Debian's chromium."""

from __future__ import annotations

from tests.browser_kit import browser, chromium_path
from tests.live.conftest import start_server

__all__ = ["browser", "chromium_path", "start_server"]
