"""The CLI run in this process, against the ``service`` fixture (tests/api/conftest.py)."""

from __future__ import annotations

import asyncio

from tray_app import cli


async def run_cli(*argv: str) -> int:
    """``exlab-tray ARGV`` in a thread (it blocks on its HTTP calls); its exit status."""
    return await asyncio.to_thread(cli.main, list(argv))
