"""Import aiohttp without the TLS contexts it builds at import time, and without OpenSSL's
libcrypto.

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

Hashing: aiohttp imports ``hashlib`` (a WebSocket handshake's SHA-1 of a 60-byte key, a
client's digest auth and fingerprints, static-file ETags), and the API's token and its
constant-time compare come from ``secrets`` and ``hmac``. With OpenSSL's ``_hashlib`` behind
them they map libcrypto: 3.4 MiB of the idle tray's RSS, for nothing it hashes while idle.
So ``_hashlib`` is hidden while these are imported: ``hashlib`` then binds CPython's
built-in hashes (the same algorithms and results, slower only on large inputs, which these
never hash) and ``hmac.compare_digest`` is ``_operator._compare_digest``, the same
constant-time compare. Afterwards that ``hashlib`` leaves ``sys.modules`` (the modules above
keep their reference), so the next ``import hashlib`` (the NAS manifest's SHA-256 of whole
folders, on the first sync) loads OpenSSL's, at its full speed.

MIME types: aiohttp's file responses build their own ``MimeTypes()`` table at import (from
Python's built-in defaults), and the constructor first initialises the module's global
table, reading the system's ``/etc/mime.types`` (2,300 lines here: 0.35 MiB of the idle
tray) for nobody: the API serves no files. ``mimetypes.inited`` is set while aiohttp
imports and put back after, so the global table is read on its first real use instead.
"""

from __future__ import annotations

import sys


def import_aiohttp_without_tls() -> None:
    """Import ``aiohttp`` once, with ``ssl`` hidden from its client modules and ``_hashlib``
    from it and from ``hmac``/``secrets`` (see the module's docstring)."""
    if "aiohttp" in sys.modules:
        return
    # asyncio keeps real TLS support: it must be imported while ssl is visible.
    import asyncio  # noqa: F401
    import mimetypes

    missing = object()
    before = sys.modules.get("ssl", missing)
    # Only in a process that has not hashed yet: one that has keeps its OpenSSL hashlib.
    hide_hashing = "hashlib" not in sys.modules and "_hashlib" not in sys.modules
    sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` now raises ImportError
    if hide_hashing:
        sys.modules["_hashlib"] = None  # type: ignore[assignment]
    mime_table_read = mimetypes.inited
    mimetypes.inited = True  # aiohttp's MimeTypes() then skips reading the system's files
    try:
        import hmac  # noqa: F401
        import secrets  # noqa: F401

        import aiohttp
        import aiohttp.web  # noqa: F401  # its WebSocket and routing halves import hashlib
    finally:
        # Back as it was: imported, not yet imported, or hidden for the whole process
        # (tray_app.no_tls), which this must not undo.
        if before is missing:
            del sys.modules["ssl"]
        else:
            sys.modules["ssl"] = before  # type: ignore[assignment]
        if hide_hashing:
            del sys.modules["_hashlib"]
            sys.modules.pop("hashlib", None)  # the built-in one; the next import gets OpenSSL
        mimetypes.inited = mime_table_read  # False: the first guess_type() reads them
