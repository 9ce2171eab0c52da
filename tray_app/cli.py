"""``exlab-tray`` command line: the tray's options and the client's commands in one parser.

Without a command it starts the tray. Commands open, list, watch, answer and cancel
sessions of the running instance found through ``runtime.json``, or run one headless
(``serve``). Exit codes: 0 done or success, 1 failed or aborted, 2 usage error or a
request refused, 3 no running instance. ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from tray_app import i18n, sync_cli
from tray_app.cli_commands import COMMANDS
from tray_app.cli_output import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NO_INSTANCE,
    EXIT_OK,
    EXIT_USAGE,
    REFUSED_CODES,
    Output,
    UsageError,
)
from tray_app.cli_watch import (
    ANSWERS_FILE_HELP,
    answers_for_prompt,
    check_text_arguments,
    load_answers,
    parse_variables,
)
from tray_app.i18n import N_, _

if TYPE_CHECKING:
    pass

__all__ = [
    "EXIT_FAILED",
    "EXIT_NO_INSTANCE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Output",
    "UsageError",
    "answers_for_prompt",
    "build_parser",
    "main",
    "parse",
    "parse_variables",
]


# ---- argument parsing -----------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with a suggestion for a mistyped command ('lst' -> 'list')."""

    #: The commands of this parser (set on the top-level one), for suggestions.
    command_names: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        choices = self.command_names
        match = re.search(r"invalid choice: '([^']*)'", message)
        if match and choices:
            import difflib  # here: only a mistyped command needs it, the tray never does

            close = difflib.get_close_matches(match.group(1), choices, n=1)
            message = _("unknown command '{name}'").format(name=match.group(1)) + (
                _(" (did you mean '{name}'?)").format(name=close[0]) if close else ""
            )
        self.print_usage(sys.stderr)
        self.exit(
            EXIT_USAGE, _("{prog}: error: {message}").format(prog=self.prog, message=message) + "\n"
        )


#: argparse's own words in help and usage errors, marked so the catalog holds them.
#: ("invalid choice" stays English: _Parser.error reads it to suggest a command.)
_ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
)


def _argparse_in_language() -> None:
    """argparse looks its words up through its module's own gettext function (the default
    domain, which has none of ours); point it at the app's catalog, whose English falls back
    to the same words."""
    setattr(argparse, "_", i18n.gettext_)  # noqa: B010 (a module global, not an attribute API)


def build_parser() -> _Parser:
    """The whole command line: the tray's options and every command (one parser, one help)."""
    from tray_app import __version__

    _argparse_in_language()
    parser = _Parser(
        prog="exlab-tray",
        usage="%(prog)s [--demo | --version | --self-test]\n       %(prog)s "
        + _("COMMAND [OPTIONS]   (the commands are listed below)"),
        description=_(
            "ExLab Tray: creation sessions from the system tray. Without a command it "
            "starts the tray (or shows the running one's sessions); a command talks to the "
            "running ExLab Tray, or runs one headless with 'serve'."
        ),
        epilog=_(
            "Exit codes: 0 done/success, 1 failed/aborted, 2 usage error or refused "
            "request, 3 no running ExLab Tray found. 'exlab-tray COMMAND --help' tells more."
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"exlab-tray {__version__}",
        help=_("show program's version number and exit"),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=_("start the tray on a temporary home with a few real demo sessions"),
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help=_(
            "check this installation: create a project and a run in a temporary folder "
            "(exlab-tray --self-test --help for its options)"
        ),
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, prog="exlab-tray"
    )

    json_flag = _Parser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help=_("print JSON instead of text"))

    new = commands.add_parser("new", help=_("open a creation session (project or run)"))
    kinds = new.add_subparsers(dest="kind", required=True, metavar="KIND", parser_class=_Parser)
    for kind in ("project", "run"):
        sub = kinds.add_parser(
            kind,
            parents=[json_flag],
            help=_("create a project folder") if kind == "project" else _("create a run folder"),
        )
        sub.add_argument(
            "--equipment",
            "-e",
            required=True,
            dest="equipment_id",
            help=_("equipment id, e.g. TECAN"),
        )
        sub.add_argument(
            "--project", "-p", required=True, dest="project_name", help=_("project name")
        )
        sub.add_argument("--operator", "-o", required=True, help=_("who creates it"))
        sub.add_argument(
            "--label",
            "-l",
            required=kind == "run",
            help=_("run label") if kind == "run" else _("project label"),
        )
        sub.add_argument("--objective", help=_("what it is for"))
        if kind == "run":
            sub.add_argument(
                "--run-kind",
                choices=["experimental", "test"],
                default="experimental",
                help=_("experimental run or test run"),
            )
            sub.add_argument(
                "--test",
                action="store_const",
                const="test",
                dest="run_kind",
                help=_("same as --run-kind test"),
            )
        sub.add_argument("--template", help=_("template folder name (default: the kind's default)"))
        sub.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=_(
                "template variable; VALUE is read as JSON if it parses "
                '(3, true, "007"), else as text; repeatable'
            ),
        )
        sub.add_argument("--watch", action="store_true", help=_("then watch it until it ends"))
        _add_answers_option(sub, _("with --watch: ") + _(ANSWERS_FILE_HELP))

    listing = commands.add_parser("list", parents=[json_flag], help=_("list sessions"))
    listing.add_argument(
        "--state", help=_("only these states, comma-separated (e.g. input_required)")
    )

    show = commands.add_parser("show", parents=[json_flag], help=_("show one session"))
    show.add_argument("session_id", metavar="ID")

    watch = commands.add_parser(
        "watch", parents=[json_flag], help=_("follow a session until it ends, answering prompts")
    )
    watch.add_argument("session_id", metavar="ID")
    _add_answers_option(watch, _(ANSWERS_FILE_HELP) + _(" Without it, watch asks on the terminal."))

    answer = commands.add_parser("answer", parents=[json_flag], help=_("answer a pending prompt"))
    answer.add_argument("session_id", metavar="ID")
    answer.add_argument("pairs", nargs="+", metavar="KEY=VALUE", help=_("one per prompt field"))

    cancel = commands.add_parser("cancel", parents=[json_flag], help=_("cancel a session"))
    cancel.add_argument("session_id", metavar="ID")
    cancel.add_argument("--discard", action="store_true", help=_("also remove its partial folder"))

    discard = commands.add_parser(
        "discard",
        parents=[json_flag],
        help=_("remove the unfinished folder an interrupted or failed session left"),
    )
    discard.add_argument("session_id", metavar="ID")

    again = commands.add_parser(
        "again", parents=[json_flag], help=_("start a new session with an ended session's request")
    )
    again.add_argument("session_id", metavar="ID")

    serve = commands.add_parser(
        "serve", parents=[json_flag], help=_("run the local API headless (no tray, no Qt)")
    )
    serve.add_argument("--port", type=int, default=0, help=_("TCP port (default: a free one)"))
    serve.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help=_("default: the log_level setting"),
    )

    report = commands.add_parser(
        "report",
        parents=[json_flag],
        help=_("write a zip for support: logs, settings without secrets, versions, sessions"),
    )
    report.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="PATH",
        help=_("the zip to write, or a folder for it (default: the current folder)"),
    )

    sync_cli.add_parser(commands, json_flag)

    helper = commands.add_parser("help", help=_("show this help, or a command's"))
    helper.add_argument("topic", nargs="?", metavar="COMMAND", help=_("the command to explain"))
    parser.command_names = tuple(commands.choices)
    return parser


def _add_answers_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--answers FILE``: prompt answers read from a JSON or TOML file."""
    parser.add_argument("--answers", type=Path, metavar="FILE", help=help_text)


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; a usage error, --help or --version raises SystemExit."""
    return build_parser().parse_args(argv)


def _help(parser: _Parser, topic: str | None) -> int:
    if topic is None:
        parser.print_help()
        return EXIT_OK
    if topic not in parser.command_names:
        parser.error(_("invalid choice: '{name}'").format(name=topic))
    parser.parse_args([topic, "--help"])  # prints the command's help and exits 0
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """The whole ``exlab-tray`` command line; without a command, the tray itself."""
    raw = list(sys.argv[1:] if argv is None else argv)
    # The tray's language (the ``language`` setting, else the desktop's locale); the
    # settings read for it go on to the command that runs on them (tray, serve, report).
    loaded = i18n.install_from_settings()
    parser = build_parser()
    try:
        args = parser.parse_args(raw)
        if args.command == "help":
            return _help(parser, args.topic)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        check_text_arguments(raw)
    except UsageError as error:
        print(_("exlab-tray: error: {message}").format(message=error), file=sys.stderr)
        return EXIT_USAGE
    if args.command is None:
        from tray_app.app import main as app_main

        return app_main(raw, loaded=loaded)
    if args.command == "serve":
        from tray_app.headless import serve

        return serve(port=args.port, log_level=args.log_level, loaded=loaded)
    if args.command == "report":
        from tray_app.report_cli import run_report

        return run_report(args.output, as_json=args.json, loaded=loaded)
    try:
        return asyncio.run(_run(args))
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as error:
        print(_("exlab-tray: error: {message}").format(message=error), file=sys.stderr)
        return EXIT_USAGE


async def _run(args: argparse.Namespace) -> int:
    from tray_app.api.client import ApiClient, ApiClientError, NoRunningInstance

    out = Output(as_json=args.json)
    # Read local inputs first: a usage error is reported even with no instance running.
    args.variables = parse_variables(getattr(args, "var", []))
    args.answers_data = load_answers(args.answers) if getattr(args, "answers", None) else None
    try:
        async with ApiClient.connect() as client:
            handler = COMMANDS[args.command]
            code: int = await handler(client, args, out)
            return code
    except NoRunningInstance:
        words = _("no running ExLab Tray found (start the tray, or run {command})")
        print(words.format(command="'exlab-tray serve'"), file=sys.stderr)
        return EXIT_NO_INSTANCE
    except ApiClientError as error:
        out.error(error.to_dict())
        return EXIT_USAGE if error.code in REFUSED_CODES else EXIT_FAILED
