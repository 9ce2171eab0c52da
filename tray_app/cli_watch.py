"""``exlab-tray watch`` and ``--answers``: following a session's event stream, answering
its prompts from a file or on the terminal, and reading answers and ``--var`` values."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_app.cli_output import (
    EXIT_FAILED,
    EXIT_OK,
    TERMINAL_KINDS,
    Output,
    UsageError,
    field_hint,
    plain,
)
from tray_app.i18n import N_, _

if TYPE_CHECKING:
    from tray_app.api.client import ApiClient


class PromptAborted(Exception):
    """The terminal closed (EOF) while we were asking for an answer."""


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
            done, _pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if asking is not None and asking in done:
                finished, asking = asking, None
                if isinstance(finished.exception(), PromptAborted):
                    words = _(
                        "No answer given; session {id} is still waiting. Answer with: {command}"
                    )
                    command = f"exlab-tray answer {session_id} KEY=VALUE ..."
                    out.text(words.format(id=session_id, command=command), err=True)
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
                if prompt:
                    # Joined a session that already waits: say what it waits on.
                    out.frame({"kind": "input_required", **prompt})
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
        reasons = {1001: _("the server is shutting down"), 4008: _("this client read too slowly")}
        reason = reasons.get(socket.close_code or 0) or _("code {code}").format(
            code=socket.close_code
        )
        words = _("event stream closed before the session ended ({reason})")
        out.text(words.format(reason=reason), err=True)
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
            labels = {spec["id"]: spec.get("label") or spec["id"] for spec in fields}
            out.text(_("Some answers were refused:"), err=True)
            for field_id, message in problems.items():
                out.text(f"  {labels.get(field_id, field_id)}: {message}", err=True)
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
            shown_default = f" [{plain(default)}]" if default is not None else ""
            text = await _ask(
                f"  {spec.get('label') or spec['id']} ({field_hint(spec)}){shown_default}: "
            )
            if text:
                answers[spec["id"]] = text
                break
            if default is not None:
                answers[spec["id"]] = default
                break
            if not spec.get("required"):
                break
            out.text(_("  a value is required"), err=True)
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
        words = _("cannot read answers file {path}: {reason}")
        raise UsageError(words.format(path=path, reason=error.strerror or error)) from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as error:
        words = _("answers file {path} is not valid: {reason}")
        raise UsageError(words.format(path=path, reason=error)) from None
    if not isinstance(data, dict):
        words = _("answers file {path} must hold an object of field id to value")
        raise UsageError(words.format(path=path))
    # The API's resume body, {"answers": {...}}, is the same answers one level down.
    if set(data) == {"answers"} and isinstance(data["answers"], dict):
        return dict(data["answers"])
    return data


#: What ``--answers FILE`` holds, for ``--help`` (marked here, translated where used).
ANSWERS_FILE_HELP = N_(
    "answer prompts from FILE: JSON (or TOML when it ends in .toml) mapping each field id "
    'to its answer, e.g. {"sample_count": 8, "plate_type": "96-well"}; the API\'s resume '
    'body {"answers": {...}} works too, and a table named after a plugin '
    '({"plate_map": {...}}) holds answers for that plugin only. Run "exlab-tray show ID" '
    "to see the fields a session asks for."
)


def check_text_arguments(argv: list[str]) -> None:
    """Refuse an argument that is not valid text (bytes the locale cannot decode), by name.

    Python keeps such bytes as surrogates; sent on, they turned into a JSON error that
    named neither the argument nor the problem.
    """
    for index, argument in enumerate(argv):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError as error:
            bad = argument[error.start]
            byte = ord(bad) - 0xDC00 if 0xDC80 <= ord(bad) <= 0xDCFF else None
            shown = (
                _("byte {value}").format(value=f"0x{byte:02x}")
                if byte is not None
                else _("a character")
            )
            option, _sep, _value = argument.partition("=")
            if argument.startswith("-") and "=" in argument:
                name = option
            elif index > 0 and argv[index - 1].startswith("-"):
                name = argv[index - 1]
            else:
                name = _("argument {n}").format(n=index + 1)
            words = _(
                "{name} is not valid text: {what} at position {position} is not UTF-8 "
                "(check the terminal's character encoding)"
            )
            raise UsageError(
                words.format(name=name, what=shown, position=error.start + 1)
            ) from None


def parse_variables(pairs: list[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(_("--var expects KEY=VALUE, got {pair!r}").format(pair=pair))
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, (dict, list)):
            value = raw  # structures are not template answers; keep the text
        variables[key.strip()] = value
    return variables
