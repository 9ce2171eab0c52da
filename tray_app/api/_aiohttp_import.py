"""Import aiohttp without the TLS contexts it builds at import time.

aiohttp's connector creates two verified TLS client contexts when it is
imported (so that no request ever loads certificates on the event loop). With
OpenSSL 3 that is ~100 ms of ``set_default_verify_paths`` and the memory of two
parsed CA stores: a fifth of ``serve``'s start-up here. ExLab Tray never speaks
TLS: the server binds 127.0.0.1 over plain HTTP and the client only talks to
it. aiohttp supports interpreters without ``ssl`` (every ``import ssl`` of its
client is guarded), so while it is imported ``ssl`` is hidden; asyncio, and
every module imported afterwards, still see the real one.

Upstream context: aio-libs/aiohttp#8672 and #9029 moved the contexts to import
time; python/cpython#95031 is the OpenSSL 3 slowdown.
"""

from __future__ import annotations

import sys


def import_aiohttp_without_tls() -> None:
    """Import ``aiohttp`` once, with ``ssl`` hidden from its client modules."""
    if "aiohttp" in sys.modules:
        return
    # asyncio keeps real TLS support: it must be imported while ssl is visible.
    import asyncio  # noqa: F401

    missing = object()
    before = sys.modules.get("ssl", missing)
    sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` now raises ImportError
    try:
        import aiohttp  # noqa: F401
    finally:
        # Back as it was: imported, not yet imported, or hidden for the whole process
        # (tray_app.no_tls), which this must not undo.
        if before is missing:
            del sys.modules["ssl"]
        else:
            sys.modules["ssl"] = before  # type: ignore[assignment]
