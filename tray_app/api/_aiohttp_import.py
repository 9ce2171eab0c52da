"""Import aiohttp's server half only, without the TLS contexts its client builds at import
time and without OpenSSL's libcrypto; the client half comes on first use.

TLS: aiohttp's connector creates two verified TLS client contexts when it is imported (so
that no request ever loads certificates on the event loop). With OpenSSL 3 that is ~100 ms
of ``set_default_verify_paths`` and the memory of two parsed CA stores: a fifth of
``serve``'s start-up here. ExLab Tray never speaks TLS: the server binds 127.0.0.1 over
plain HTTP and the client only talks to it. aiohttp supports interpreters without ``ssl``
(every ``import ssl`` of its client is guarded), so while it is imported ``ssl`` is hidden;
asyncio, and every module imported afterwards, still see the real one. Upstream context:
aio-libs/aiohttp#8672 and #9029 moved the contexts to import time; python/cpython#95031 is
the OpenSSL 3 slowdown.

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

The client half: ``aiohttp/__init__`` imports the whole client (session, connector, cookie
jar, digest auth, multipart writer...: 20 modules, 1.5 MiB of the idle tray), which the tray
and ``serve`` use only to ask a stale instance's ``/health``. So the package is entered
without running its ``__init__`` and ``aiohttp.web`` imported into it; the first use of a
name that only ``__init__`` defines (``aiohttp.ClientSession``, ``aiohttp.WSMsgType``...)
runs ``__init__`` then, under the same hiding, and from then on the package is aiohttp's
own. Our server modules import what they use from the submodules (``aiohttp.web``,
``aiohttp.http``), so they never run it; the CLI's client does, on its first request.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

_VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
_completing = threading.RLock()


def import_aiohttp_without_tls() -> None:
    """Import ``aiohttp.web`` (once) with ``ssl`` hidden from aiohttp and ``_hashlib`` from
    it and from ``hmac``/``secrets``; the rest of aiohttp on first use (see above)."""
    if "aiohttp" in sys.modules:
        return
    # asyncio keeps real TLS support: it must be imported while ssl is visible.
    import asyncio  # noqa: F401

    with _hidden():
        import hmac  # noqa: F401
        import secrets  # noqa: F401

        if _enter_package() is None:
            import aiohttp  # a layout this does not know: the whole of it
        import aiohttp.web  # noqa: F401  # its WebSocket and routing halves import hashlib


@contextlib.contextmanager
def _hidden() -> Iterator[None]:
    """``ssl`` and, in a process that has not hashed yet, ``_hashlib`` missing; the system
    MIME table not read."""
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
        yield
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


def _enter_package() -> ModuleType | None:
    """The ``aiohttp`` package in ``sys.modules`` with its ``__init__`` not yet run, or None
    (and nothing changed) if its ``__init__`` does not look as expected."""
    spec = importlib.util.find_spec("aiohttp")
    if spec is None or spec.loader is None or spec.origin is None:
        return None
    # aiohttp.http reads the version from the package (`from . import __version__`). A
    # frozen bundle has no source to read it from: it imports the whole package instead.
    try:
        version = _VERSION.search(Path(spec.origin).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if version is None:
        return None
    package = importlib.util.module_from_spec(spec)
    vars(package)["__version__"] = version.group(1)
    vars(package)["__getattr__"] = _completing_getattr(package)
    sys.modules["aiohttp"] = package
    return package


def _completing_getattr(package: ModuleType) -> Callable[[str], object]:
    """The package's ``__getattr__`` until its ``__init__`` has run: a submodule's name is
    left to the import system, any other missing name runs ``__init__`` (which replaces this
    with aiohttp's own ``__getattr__``) and is looked up again. Dunder probes
    (``__wrapped__``, ``__path__``... from inspect, PySide's import hook, pytest) are not
    names of aiohttp's and are answered "missing" at once."""
    running = False

    def module_getattr(name: str) -> object:
        nonlocal running
        if (name.startswith("__") and name != "__all__") or importlib.util.find_spec(
            f"aiohttp.{name}"
        ) is not None:
            raise AttributeError(f"module 'aiohttp' has no attribute {name!r}")
        with _completing:  # another thread asking meanwhile waits for the same __init__
            if running:  # asked by __init__ itself, for a name it has not defined yet
                raise AttributeError(f"module 'aiohttp' has no attribute {name!r}")
            if vars(package).get("__getattr__") is module_getattr:
                running = True
                try:
                    with _hidden():
                        assert package.__spec__ is not None and package.__spec__.loader
                        package.__spec__.loader.exec_module(package)
                finally:
                    running = False
        return getattr(package, name)

    return module_getattr
