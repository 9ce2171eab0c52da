"""``exlab-tray`` entry point: one executable for the tray, ``serve``, the CLI,
``--self-test``, and the plugin and render workers (the frozen bundle has no ``python -m``).

Each mode imports only what it needs, so ``serve`` and the CLI never load Qt.
"""

from __future__ import annotations

import sys

PLUGIN_WORKER_FLAG = "--plugin-worker"
RENDER_WORKER_FLAG = "--render-worker"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == PLUGIN_WORKER_FLAG:
        from tray_app.creation.plugins.worker import main as worker_main

        return worker_main(args[1:])
    if args and args[0] == RENDER_WORKER_FLAG:
        from tray_app.creation.render_worker import main as render_worker_main

        return render_worker_main(args[1:])
    if "--self-test" in args:
        from tray_app.selftest import main as selftest_main

        return selftest_main([a for a in args if a != "--self-test"])
    # Everything else is one command line (tray_app.cli): a command, or the tray itself.
    # An unknown command or option is a usage error there and never starts the tray.
    # None of them speaks TLS; without ssl they start faster and smaller (tray_app.no_tls).
    from tray_app.no_tls import hide_ssl

    hide_ssl()
    from tray_app.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
