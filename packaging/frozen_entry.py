"""Entry script of the frozen bundle: runs ``tray_app.__main__.main`` (tray, serve, CLI,
``--self-test``, ``--plugin-worker``, ``--render-worker``) and ends the process without
interpreter finalization.

Why: with PySide6-Essentials 6.11.3, the frozen tray crashes with SIGSEGV in PySide's
finalization cleanup (``PySide::destroyQCoreApplication`` -> ``Shiboken::BindingManager::
releaseWrapper``) after it has shut down cleanly; from source the same shutdown exits 0.
Everything that matters is done by then, so logs and streams are flushed and the process
leaves with ``os._exit``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys


def exit_code(value: object) -> int:
    """The process exit code ``sys.exit(value)`` would give."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def run() -> int:
    from tray_app.__main__ import main

    try:
        return exit_code(main())
    except SystemExit as exc:  # argparse --help / usage errors, sys.exit() anywhere below
        return exit_code(exc.code)


if __name__ == "__main__":
    code = run()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None in a windowed Windows exe
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)
