"""tray_app.api imports aiohttp without its import-time TLS contexts, and leaves
``ssl`` whole for everything else (asyncio, later imports)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import tray_app.api
import aiohttp.connector
import asyncio.sslproto
import ssl
print(aiohttp.connector.ssl is None)
print(asyncio.sslproto.ssl is ssl)
print(isinstance(ssl.create_default_context(), ssl.SSLContext))
"""


def test_the_api_package_hides_ssl_from_aiohttp_only() -> None:
    # A fresh interpreter: in this one pytest's plugins may have imported aiohttp.
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


HIDDEN_PROBE = """
import sys
from tray_app.no_tls import hide_ssl
hide_ssl()
import tray_app.api.server
try:
    import ssl
except ImportError:
    print("hidden")
print("_ssl" in sys.modules)
"""


def test_importing_aiohttp_keeps_ssl_hidden_when_the_process_hid_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", HIDDEN_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["hidden", "False"]
