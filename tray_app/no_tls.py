"""The ``exlab-tray`` process runs without Python's ``ssl`` module.

Nothing the executable does speaks TLS: the tray and ``serve`` bind 127.0.0.1 over plain
HTTP, the CLI talks to them, D-Bus goes over a Unix socket and NAS copies are file copies.
Yet asyncio, ``urllib.request`` and aiohttp's server runner import ``ssl`` (each one
guarded, for interpreters built without it), which maps libssl and ``_ssl`` and builds the
module: ~1 MiB of the idle tray and 15-35 ms of every start. With ``ssl`` marked missing
they take their documented no-TLS path; a TLS call would fail with their own "no SSL
support" error instead of silently working.

The plugin and render workers (Copier, plugins' own code) keep ``ssl``: the entry point
hides it only on the path of the tray, ``serve`` and the CLI commands. libcrypto stays
mapped: ``hashlib`` (the NAS copy's sha256) uses it.
"""

from __future__ import annotations

import sys


def hide_ssl() -> None:
    """Make every later ``import ssl`` in this process fail with ImportError.

    Call it before asyncio is imported; a module that imported ``ssl`` already keeps it.
    """
    sys.modules.setdefault("ssl", None)  # type: ignore[arg-type]  # None: "not available"
