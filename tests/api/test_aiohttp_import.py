"""tray_app.api imports aiohttp without its import-time TLS contexts, and leaves
``ssl`` whole for everything else (asyncio, later imports); the tray and its API run
without OpenSSL's libcrypto until a folder is hashed."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

from tests.support.fresh_python import probe

PROBE = """
import tray_app.api
import aiohttp
aiohttp.TCPConnector  # the client half loads on first use of its names (see the module)
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


NO_LIBCRYPTO_PROBE = """
from tray_app.no_tls import hide_ssl
hide_ssl()  # first, as the entry point does for the tray, serve and the commands
import asyncio, json
import tray_app.cli, tray_app.app, tray_app.desktop_app
from tray_app.api.service import ExlabService
from tray_app.config import load_settings
import aiohttp

def libcrypto_mapped():
    with open("/proc/self/maps") as maps:
        return "libcrypto" in maps.read()

async def serve_once():
    service = ExlabService(load_settings(), prewarm=False)
    await service.start()
    base = f"{service.url}/api/v1"
    token = {"Authorization": f"Bearer {service.api.token}"}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/sessions", headers={"Authorization": "Bearer x"}) as r:
                refused = r.status
            # aiohttp's client checks the server's Sec-WebSocket-Accept (SHA-1) on connect.
            async with http.ws_connect(f"{base}/events", headers=token) as ws:
                first = await ws.receive_json(timeout=10)
    finally:
        await service.stop()
    return refused, first

refused, first = asyncio.run(serve_once())
before = libcrypto_mapped()
from tray_app.creation.sync import manifest  # the first NAS sync's hashing
print(json.dumps({
    "libcrypto_while_serving": before,
    "refused": refused,
    "first_frame": first.get("kind"),
    "manifest_sha256": manifest.hashlib.sha256.__name__,
    "manifest_digest": manifest.hashlib.sha256(b"abc").hexdigest(),
    "libcrypto_after": libcrypto_mapped(),
}))
"""


def test_the_tray_and_its_api_run_without_libcrypto_until_a_folder_is_hashed(
    tmp_path: Path,
) -> None:
    # A fresh interpreter (pytest has hashed already in this one); a real server, a real
    # refused token, a real WebSocket handshake, all on CPython's built-in hashes.
    found = probe(NO_LIBCRYPTO_PROBE, EXLAB_TRAY_HOME=str(tmp_path))
    assert found["libcrypto_while_serving"] is False
    assert found["refused"] == 401
    assert found["first_frame"] == "snapshot"  # the right token, compared on the same path
    # The NAS manifest still hashes with OpenSSL, at its speed, and hashes right.
    assert found["manifest_sha256"] == "openssl_sha256"
    assert found["manifest_digest"] == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert found["libcrypto_after"] is True


MIME_PROBE = """
import json, mimetypes
import tray_app.api.server
from aiohttp import web_fileresponse
read_at_import = mimetypes.inited
print(json.dumps({
    "read_at_import": read_at_import,
    "aiohttp_table": web_fileresponse.CONTENT_TYPES.guess_type("notes.txt.gz"),
    "global_table": mimetypes.guess_type("notes.txt"),
    "read_on_use": mimetypes.inited,
}))
"""


def test_the_system_mime_table_is_read_on_first_use_not_by_importing_aiohttp() -> None:
    result = subprocess.run(
        [sys.executable, "-c", MIME_PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["read_at_import"] is False
    # aiohttp's own table (Python's defaults plus its additions) is whole.
    assert found["aiohttp_table"] == ["application/gzip", None]
    assert found["global_table"] == ["text/plain", None]
    assert found["read_on_use"] is True


CLIENT_HALF_PROBE = """
import json, sys
from tray_app.no_tls import hide_ssl
hide_ssl()
import tray_app.desktop_app, tray_app.api.service
from tray_app.api import events, server
loaded_with_the_server = sorted(m for m in sys.modules if m.startswith("aiohttp.client"))
import aiohttp
session_type = aiohttp.ClientSession  # the first use of a client name runs aiohttp/__init__
print(json.dumps({
    "with_the_server": loaded_with_the_server,
    "version": aiohttp.__version__,
    "session": session_type.__module__,
    "same_enum": events.WSMsgType is aiohttp.WSMsgType,
    "client_loaded": "aiohttp.client_reqrep" in sys.modules,
    "libcrypto": "_hashlib" in sys.modules,
    "missing": hasattr(aiohttp, "NoSuchName"),
}))
"""


def test_the_tray_and_serve_load_aiohttp_client_half_on_first_use(tmp_path: Path) -> None:
    found = probe(CLIENT_HALF_PROBE, timeout=60, EXLAB_TRAY_HOME=str(tmp_path))
    # The server's modules bring only the exceptions module the web half shares.
    assert found["with_the_server"] == ["aiohttp.client_exceptions"]
    assert found["version"] == importlib.metadata.version("aiohttp")
    assert found["session"] == "aiohttp.client"
    assert found["same_enum"] is True
    assert found["client_loaded"] is True
    assert found["libcrypto"] is False  # loaded under the same hiding as the server half
    assert found["missing"] is False
