"""``exlab-tray`` command line: the tray's options and the client's commands in one parser.

Without a command it starts the tray. Commands open, list, watch, answer and cancel
sessions of the running instance found through ``runtime.json``, or run one headless
(``serve``). Exit codes: 0 done or success, 1 failed or aborted, 2 usage error or a
request refused, 3 no running instance. ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tray_app import sync_cli

if TYPE_CHECKING:
    from tray_app.api.client import ApiClient

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_INSTANCE = 3
EXIT_INTERRUPTED = 130

TERMINAL_KINDS = ("done", "failed", "aborted")
#: Error codes of a request the checks refuse: what was given is wrong, like a usage error.
REFUSED_CODES = frozenset({"validation_failed", "invalid_answers", "bad_request"})


class UsageError(Exception):
    """Bad input found after parsing (e.g. an unreadable answers file): exit 2."""


class PromptAborted(Exception):
    """The terminal closed (EOF) while we were asking for an answer."""


# ---- argument parsing -----------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with a suggestion for a mistyped command ('lst' -> 'list')."""

    #: The commands of this parser (set on the top-level one), for suggestions.
    command_names: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        choices = self.command_names
        match = re.search(r"invalid choice: '([^']*)'", message)
        if match and choices:
            close = difflib.get_close_matches(match.group(1), choices, n=1)
            message = f"unknown command '{match.group(1)}'" + (
                f" (did you mean '{close[0]}'?)" if close else ""
            )
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> _Parser:
    """The whole command line: the tray's options and every command (one parser, one help)."""
    from tray_app import __version__

    parser = _Parser(
        prog="exlab-tray",
        usage="%(prog)s [--demo | --version | --self-test]\n"
        "       %(prog)s COMMAND [OPTIONS]   (the commands are listed below)",
        description="ExLab Tray: creation sessions from the system tray. Without a command it "
        "starts the tray (or shows the running one's sessions); a command talks to the "
        "running ExLab Tray, or runs one headless with 'serve'.",
        epilog="Exit codes: 0 done/success, 1 failed/aborted, 2 usage error or refused "
        "request, 3 no running ExLab Tray found. 'exlab-tray COMMAND --help' tells more.",
    )
    parser.add_argument("--version", action="version", version=f"exlab-tray {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the tray on a temporary home with a few real demo sessions",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation: create a project and a run in a temporary folder "
        "(exlab-tray --self-test --help for its options)",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, prog="exlab-tray"
    )

    json_flag = _Parser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON instead of text")

    new = commands.add_parser("new", help="open a creation session (project or run)")
    kinds = new.add_subparsers(dest="kind", required=True, metavar="KIND", parser_class=_Parser)
    for kind in ("project", "run"):
        sub = kinds.add_parser(kind, parents=[json_flag], help=f"create a {kind} folder")
        sub.add_argument(
            "--equipment", "-e", required=True, dest="equipment_id", help="equipment id, e.g. TECAN"
        )
        sub.add_argument("--project", "-p", required=True, dest="project_name", help="project name")
        sub.add_argument("--operator", "-o", required=True, help="who creates it")
        sub.add_argument(
            "--label",
            "-l",
            required=kind == "run",
            help="run label" if kind == "run" else "project label",
        )
        sub.add_argument("--objective", help="what it is for")
        if kind == "run":
            sub.add_argument(
                "--run-kind",
                choices=["experimental", "test"],
                default="experimental",
                help="experimental run or test run",
            )
            sub.add_argument(
                "--test",
                action="store_const",
                const="test",
                dest="run_kind",
                help="same as --run-kind test",
            )
        sub.add_argument("--template", help="template folder name (default: the kind's default)")
        sub.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="template variable; VALUE is read as JSON if it parses "
            '(3, true, "007"), else as text; repeatable',
        )
        sub.add_argument("--watch", action="store_true", help="then watch it until it ends")
        _add_answers_option(sub, "with --watch: answer prompts from this JSON or TOML file")

    listing = commands.add_parser("list", parents=[json_flag], help="list sessions")
    listing.add_argument("--state", help="only these states, comma-separated (e.g. input_required)")

    show = commands.add_parser("show", parents=[json_flag], help="show one session")
    show.add_argument("session_id", metavar="ID")

    watch = commands.add_parser(
        "watch", parents=[json_flag], help="follow a session until it ends, answering prompts"
    )
    watch.add_argument("session_id", metavar="ID")
    _add_answers_option(watch, "answer prompts from this JSON or TOML file instead of asking")

    answer = commands.add_parser("answer", parents=[json_flag], help="answer a pending prompt")
    answer.add_argument("session_id", metavar="ID")
    answer.add_argument("pairs", nargs="+", metavar="KEY=VALUE", help="one per prompt field")

    cancel = commands.add_parser("cancel", parents=[json_flag], help="cancel a session")
    cancel.add_argument("session_id", metavar="ID")
    cancel.add_argument("--discard", action="store_true", help="also remove its partial folder")

    serve = commands.add_parser(
        "serve", parents=[json_flag], help="run the local API headless (no tray, no Qt)"
    )
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    serve.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="default: the log_level setting",
    )

    report = commands.add_parser(
        "report",
        parents=[json_flag],
        help="write a zip for support: logs, settings without secrets, versions, sessions",
    )
    report.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="PATH",
        help="the zip to write, or a folder for it (default: the current folder)",
    )

    sync_cli.add_parser(commands, json_flag)

    helper = commands.add_parser("help", help="show this help, or a command's")
    helper.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to explain")
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
        parser.error(f"invalid choice: '{topic}'")
    parser.parse_args([topic, "--help"])  # prints the command's help and exits 0
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """The whole ``exlab-tray`` command line; without a command, the tray itself."""
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(raw)
        if args.command == "help":
            return _help(parser, args.topic)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        from tray_app.app import main as app_main

        return app_main(raw)
    if args.command == "serve":
        from tray_app.headless import serve

        return serve(port=args.port, log_level=args.log_level)
    if args.command == "report":
        from tray_app.report_cli import run_report

        return run_report(args.output, as_json=args.json)
    try:
        return asyncio.run(_run(args))
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as error:
        print(f"exlab-tray: error: {error}", file=sys.stderr)
        return EXIT_USAGE


async def _run(args: argparse.Namespace) -> int:
    from tray_app.api.client import ApiClient, ApiClientError, NoRunningInstance

    out = Output(as_json=args.json)
    # Read local inputs first: a usage error is reported even with no instance running.
    args.variables = parse_variables(getattr(args, "var", []))
    args.answers_data = load_answers(args.answers) if getattr(args, "answers", None) else None
    try:
        async with ApiClient.connect() as client:
            handler = _COMMANDS[args.command]
            code: int = await handler(client, args, out)
            return code
    except NoRunningInstance:
        print(
            "no running ExLab Tray found (start the tray, or run 'exlab-tray serve')",
            file=sys.stderr,
        )
        return EXIT_NO_INSTANCE
    except ApiClientError as error:
        out.error(error.to_dict())
        return EXIT_USAGE if error.code in REFUSED_CODES else EXIT_FAILED


# ---- commands ----------------------------------------------------------------------------
async def cmd_new(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    body: dict[str, Any] = {
        "kind": args.kind,
        "equipment_id": args.equipment_id,
        "project_name": args.project_name,
        "operator": args.operator,
        "variables": args.variables,
    }
    for key in ("label", "objective", "template"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    if args.kind == "run":
        body["run_kind"] = args.run_kind
    handle = await client.create(body)
    if out.as_json and not args.watch:
        out.json(handle)
    else:
        out.text(f"Opened session {handle['session_id']} ({_describe(handle)})")
        if handle.get("destination"):
            out.text(f"  folder: {handle['destination']}")
    if not args.watch:
        if not out.as_json:
            out.text(f"Follow it with: exlab-tray watch {handle['session_id']}")
        return EXIT_OK
    return await watch_session(client, handle["session_id"], args.answers_data, out)


async def cmd_list(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    states = [s.strip() for s in args.state.split(",")] if args.state else None
    sessions = await client.sessions(states)
    if out.as_json:
        out.json({"sessions": sessions})
        return EXIT_OK
    if not sessions:
        out.text("no sessions")
        return EXIT_OK
    rows = [("ID", "KIND", "STATE", "CREATED", "TITLE")]
    for handle in sessions:
        created = str(handle.get("created_at", ""))[:19].replace("T", " ")
        rows.append(
            (
                handle["session_id"],
                handle["kind"],
                handle["state"],
                created,
                handle.get("title") or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        out.text(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[4]
        )
    return EXIT_OK


async def cmd_show(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    handle = await client.session(args.session_id)
    if out.as_json:
        out.json(handle)
        return _exit_for_state(handle["state"])
    out.text(f"{handle['session_id']}  {_describe(handle)}")
    out.text(f"  state:    {_state(handle['state'])} ({handle['state']})")
    out.text(f"  created:  {handle.get('created_at')}")
    if handle.get("destination"):
        out.text(f"  folder:   {handle['destination']}")
    prompt = handle.get("pending_input")
    if prompt:
        out.text(f"  waiting:  {prompt.get('plugin')} asks: {prompt.get('reason', '')}")
        for spec in prompt.get("fields", []):
            out.text(f"            {spec['id']}: {_field_hint(spec)}")
    if handle.get("result"):
        out.text(f"  result:   {_one_line(handle['result'])}")
    if handle.get("error"):
        out.text(f"  error:    {_one_line(handle['error'])}")
    for warning in handle.get("warnings") or []:
        out.text(f"  warning:  {warning}")
    return _exit_for_state(handle["state"])


async def cmd_watch(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    return await watch_session(client, args.session_id, args.answers_data, out)


async def cmd_answer(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    answers: dict[str, Any] = {}
    for pair in args.pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {pair!r}")
        answers[key] = value  # the server coerces text to each field's type
    from tray_app.api.client import ApiClientError

    try:
        handle = await client.resume(args.session_id, answers)
    except ApiClientError as error:
        if error.code != "invalid_answers":
            raise
        out.error(error.to_dict())
        problems = error.fields
        if not out.as_json and len(problems) > 1:
            for field_id, message in problems.items():
                out.text(f"  {field_id}: {message}", err=True)
        return EXIT_USAGE
    if out.as_json:
        out.json(handle)
    else:
        out.text(f"Answered; session {handle['session_id']} is {handle['state']}")
    return EXIT_OK


async def cmd_cancel(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    handle = await client.cancel(args.session_id, discard_files=args.discard)
    if out.as_json:
        out.json(handle)
        return EXIT_OK
    folder = handle.get("destination")
    what = "removed" if args.discard else "kept"
    out.text(
        f"Cancelled session {handle['session_id']}"
        + (f"; folder {what}: {folder}" if folder else "")
    )
    return EXIT_OK


_COMMANDS: dict[str, Callable[[ApiClient, argparse.Namespace, Output], Any]] = {
    "new": cmd_new,
    "list": cmd_list,
    "show": cmd_show,
    "watch": cmd_watch,
    "answer": cmd_answer,
    "cancel": cmd_cancel,
    "sync": sync_cli.cmd_sync,
}


# ---- watching and answering -------------------------------------------------------------
async def watch_session(
    client: ApiClient, session_id: str, file_answers: dict[str, Any] | None, out: Output
) -> int:
    """Print frames until the session ends, answering each prompt once; the exit code.

    Prompting runs beside the stream, so a session cancelled or abandoned
    elsewhere ends the questions at once.
    """
    socket = await client.events(session_id)
    frames = aiter(socket)
    answered: set[tuple[Any, Any]] = set()
    final: str | None = None
    asking: asyncio.Task[None] | None = None
    next_frame: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(anext(frames))
    try:
        while True:
            waiting: set[asyncio.Future[Any]] = {next_frame}
            if asking is not None:
                waiting.add(asking)
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if asking is not None and asking in done:
                finished, asking = asking, None
                if isinstance(finished.exception(), PromptAborted):
                    out.text(
                        f"No answer given; session {session_id} is still waiting. Answer with: "
                        f"exlab-tray answer {session_id} KEY=VALUE ...",
                        err=True,
                    )
                    return EXIT_FAILED
                finished.result()  # re-raise anything else
            if next_frame not in done:
                continue
            try:
                frame = next_frame.result()
            except StopAsyncIteration:
                break
            next_frame = asyncio.ensure_future(anext(frames))
            kind = frame.get("kind")
            if kind in TERMINAL_KINDS and asking is not None:
                asking.cancel()
                asking = None
                out.text("", err=True)  # end the half-asked question's line
            out.frame(frame)
            prompt: dict[str, Any] | None = None
            if kind == "snapshot":
                prompt = frame["session"].get("pending_input")
            elif kind == "input_required":
                prompt = frame
            elif kind in TERMINAL_KINDS:
                final = kind
            key = (prompt.get("plugin"), prompt.get("attempt")) if prompt else ("", "")
            if prompt and key not in answered and asking is None:
                answered.add(key)
                asking = asyncio.create_task(
                    answer_prompt(client, session_id, prompt, file_answers, out)
                )
    finally:
        for task in (next_frame, asking):
            if task is not None and not task.done():
                task.cancel()
        await socket.close()
    if final is None:
        reason = {1001: "the server is shutting down", 4008: "this client read too slowly"}
        out.text(
            f"event stream closed before the session ended "
            f"({reason.get(socket.close_code or 0, f'code {socket.close_code}')})",
            err=True,
        )
        return EXIT_FAILED
    return EXIT_OK if final == "done" else EXIT_FAILED


async def answer_prompt(
    client: ApiClient,
    session_id: str,
    prompt: dict[str, Any],
    file_answers: dict[str, Any] | None,
    out: Output,
) -> None:
    """Send answers from the file, or asked on the terminal; re-ask fields the server refuses."""
    from tray_app.api.client import ApiClientError

    fields: list[dict[str, Any]] = list(prompt.get("fields") or [])
    if file_answers is not None:
        answers = answers_for_prompt(file_answers, prompt)
    else:
        answers = await ask_fields(fields, out)
    while True:
        try:
            await client.resume(session_id, answers)
            return
        except ApiClientError as error:
            if error.code in ("not_awaiting_input", "session_already_completed"):
                return  # it moved on (cancelled, abandoned); the stream says how
            if error.code != "invalid_answers":
                raise
            problems = error.fields
            out.text("Some answers were refused:", err=True)
            for field_id, message in problems.items():
                out.text(f"  {field_id}: {message}", err=True)
            if file_answers is not None and not sys.stdin.isatty():
                raise PromptAborted() from None
            wrong = [spec for spec in fields if spec["id"] in problems] or fields
            for field_id in problems:
                answers.pop(field_id, None)
            answers.update(await ask_fields(wrong, out))


def answers_for_prompt(file_answers: dict[str, Any], prompt: dict[str, Any]) -> dict[str, Any]:
    """The file's answers for this prompt's fields; a table named after the plugin wins."""
    ids = {spec["id"] for spec in prompt.get("fields") or []}
    scoped = file_answers.get(str(prompt.get("plugin")))
    source = {**file_answers, **scoped} if isinstance(scoped, dict) else file_answers
    return {key: value for key, value in source.items() if key in ids}


async def ask_fields(fields: list[dict[str, Any]], out: Output) -> dict[str, Any]:
    """Ask on the terminal, field by field; empty input takes the default (or skips)."""
    answers: dict[str, Any] = {}
    for spec in fields:
        if spec.get("hint"):
            out.text(f"  ({spec['hint']})", err=True)
        while True:
            default = spec.get("default")
            shown_default = f" [{_plain(default)}]" if default is not None else ""
            text = await _ask(
                f"  {spec.get('label') or spec['id']} ({_field_hint(spec)}){shown_default}: "
            )
            if text:
                answers[spec["id"]] = text
                break
            if default is not None:
                answers[spec["id"]] = default
                break
            if not spec.get("required"):
                break
            out.text("  a value is required", err=True)
    return answers


async def _ask(question: str) -> str:
    """One line from the terminal, read in a daemon thread.

    The event socket keeps being served (and heartbeating) while we wait, and
    a question abandoned because the session ended never holds up the exit.
    """
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[str] = loop.create_future()

    def deliver(line: str) -> None:
        if not reply.done():
            reply.set_result(line)

    def read() -> None:
        sys.stderr.write(question)
        sys.stderr.flush()
        try:
            line = sys.stdin.readline()
        except (OSError, ValueError):
            line = ""
        with contextlib.suppress(RuntimeError):  # the loop may be gone by now
            loop.call_soon_threadsafe(deliver, line)

    threading.Thread(target=read, name="exlab-prompt", daemon=True).start()
    line = await reply
    if not line:
        raise PromptAborted()
    return line.strip()


# ---- input files and values ----------------------------------------------------------------
def load_answers(path: Path) -> dict[str, Any]:
    """Answers from a JSON or TOML file (TOML when the name ends in .toml)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read answers file {path}: {error.strerror or error}") from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as error:
        raise UsageError(f"answers file {path} is not valid: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"answers file {path} must hold an object of field id to value")
    return data


def parse_variables(pairs: list[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var expects KEY=VALUE, got {pair!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, (dict, list)):
            value = raw  # structures are not template answers; keep the text
        variables[key.strip()] = value
    return variables


# ---- output ------------------------------------------------------------------------------
class Output:
    """Text for people or JSON for programs; prompts and errors go to stderr."""

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json

    def text(self, line: str, *, err: bool = False) -> None:
        stream = sys.stderr if err or self.as_json else sys.stdout
        print(line, file=stream, flush=True)

    def json(self, value: Any) -> None:
        print(json.dumps(value, ensure_ascii=False), flush=True)

    def error(self, error: dict[str, Any]) -> None:
        if self.as_json:
            self.json({"error": error})
            return
        field = f" [{error['field']}]" if error.get("field") else ""
        print(f"error: {error['message']} ({error['code']}){field}", file=sys.stderr, flush=True)
        problems = (error.get("details") or {}).get("errors") or []
        for problem in problems if len(problems) > 1 else []:
            where = f"{problem.get('field')}: " if problem.get("field") else ""
            print(f"  {where}{problem.get('message')}", file=sys.stderr, flush=True)

    def frame(self, frame: dict[str, Any]) -> None:
        if self.as_json:
            self.json(frame)
            return
        self.text(describe_frame(frame))


def describe_frame(frame: dict[str, Any]) -> str:
    kind = frame.get("kind")
    if kind == "snapshot":
        handle = frame["session"]
        return f"session {handle['session_id']} ({_describe(handle)}) is {handle['state']}"
    if kind == "phase":
        return f"-> {_phase(frame.get('phase'))}"
    if kind == "progress":
        return f"   plugin {frame.get('plugin')} ({frame.get('current')}/{frame.get('total')})"
    if kind == "input_required":
        return f"?  {frame.get('plugin')} needs input: {frame.get('reason', '')}"
    if kind == "warning":
        return f"!  warning: {frame.get('message')}"
    if kind == "done":
        result = frame.get("result") or {}
        lines = [f"done: {result.get('path')} (sync: {result.get('sync_status')})"]
        lines += [f"!  warning: {w}" for w in result.get("warnings") or []]
        return "\n".join(lines)
    if kind == "failed":
        error = frame.get("error") or {}
        field = f" [{error['field']}]" if error.get("field") else ""
        return f"FAILED: {error.get('message')} ({error.get('code')}){field}"
    if kind == "aborted":
        reason = frame.get("reason") or {}
        return f"ABORTED: {reason.get('message') or reason.get('code')}"
    return json.dumps(frame)


# The words come from the one wording module the tray uses too, so a session reads the
# same here as in the menu and the sessions window (imported on use: the CLI starts lean).
def _describe(handle: dict[str, Any]) -> str:
    from tray_app.creation.wording import handle_title

    return handle_title(handle)


def _state(state: str) -> str:
    from tray_app.creation.wording import state_words

    return state_words(state)


def _phase(phase: str | None) -> str:
    from tray_app.creation.wording import phase_words

    return phase_words(phase)


def _field_hint(spec: dict[str, Any]) -> str:
    """``integer, 1..384, required``: the type, its bounds and whether it is required."""
    kind = spec.get("type", "string")
    parts = [kind]
    if kind == "choice" and spec.get("options"):
        parts = ["one of " + ", ".join(map(str, spec["options"]))]
    elif kind == "boolean":
        parts = ["yes/no"]
    elif kind == "date":
        parts = ["date YYYY-MM-DD"]
    low, high = spec.get("min"), spec.get("max")
    if kind in ("string", "text"):
        if low is not None:
            parts.append(f"at least {_plain(low)} characters")
        if high is not None:
            parts.append(f"at most {_plain(high)} characters")
    elif low is not None or high is not None:
        parts.append("..".join("" if bound is None else _plain(bound) for bound in (low, high)))
    if spec.get("required"):
        parts.append("required")
    return ", ".join(parts)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _one_line(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], {}))
    return str(value)


def _exit_for_state(state: str) -> int:
    return EXIT_FAILED if state in ("failed", "aborted") else EXIT_OK
