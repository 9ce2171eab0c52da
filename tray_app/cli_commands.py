"""The ``exlab-tray`` commands that talk to the running instance (new, list, show, answer,
cancel, discard, again; ``watch`` and ``sync`` live beside them), each printing in the
tray's words or, with ``--json``, the API's JSON."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tray_app import sync_cli
from tray_app.cli_output import (
    EXIT_OK,
    EXIT_USAGE,
    Output,
    UsageError,
    describe,
    exit_for_state,
    field_hint,
    kind_text,
    outcome_text,
    state_text,
)
from tray_app.cli_watch import watch_session
from tray_app.i18n import _, ngettext

if TYPE_CHECKING:
    from tray_app.api.client import ApiClient

__all__ = ["COMMANDS"]


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
        out.text(
            _("Opened session {id} ({title})").format(
                id=handle["session_id"], title=describe(handle)
            )
        )
        if handle.get("destination"):
            out.text(_("  folder: {path}").format(path=handle["destination"]))
    if not args.watch:
        if not out.as_json:
            out.text(_follow_it(handle["session_id"]))
        return EXIT_OK
    return await watch_session(client, handle["session_id"], args.answers_data, out)


def _follow_it(session_id: str) -> str:
    return _("Follow it with: {command}").format(command=f"exlab-tray watch {session_id}")


async def cmd_list(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    states = [s.strip() for s in args.state.split(",")] if args.state else None
    sessions = await client.sessions(states)
    if out.as_json:
        out.json({"sessions": sessions})
        return EXIT_OK
    journal = (await client.health()).get("journal") or {}
    if not sessions:
        out.text(_("no sessions"))
    else:
        _print_sessions(sessions, out)
    # What the tray shows too: a damaged journal, interrupted sessions and their actions.
    for problem in journal.get("problems") or []:
        out.text(_("journal: {problem}").format(problem=problem["message"]))
    interrupted = [h for h in sessions if (h.get("result") or {}).get("code") == "interrupted"]
    if interrupted:
        count = len(interrupted)
        words = ngettext(
            "{n} interrupted session kept its folder: {discard} removes it, {again} starts it anew",
            "{n} interrupted sessions kept their folder: {discard} removes it, {again} "
            "starts it anew",
            count,
        )
        out.text(
            words.format(n=count, discard="exlab-tray discard ID", again="exlab-tray again ID")
        )
    return EXIT_OK


def _print_sessions(sessions: list[dict[str, Any]], out: Output) -> None:
    # Translators: the column headings of "exlab-tray list", in capitals.
    rows = [(_("ID"), _("KIND"), _("STATE"), _("CREATED"), _("TITLE"))]
    for handle in sessions:
        created = str(handle.get("created_at", ""))[:19].replace("T", " ")
        rows.append(
            (
                handle["session_id"],
                kind_text(handle["kind"]),
                state_text(handle["state"]),
                created,
                # One row per session, whatever a title holds.
                " ".join(describe(handle).split()),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        out.text(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[4]
        )


def _show_line(label: str, value: object) -> str:
    """``  state:    Done``: the labels of ``show`` in one column, whatever their length."""
    return f"  {label + ':':<10}{value}"


async def cmd_show(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    handle = await client.session(args.session_id)
    if out.as_json:
        out.json(handle)
        return exit_for_state(handle["state"])
    out.text(f"{handle['session_id']}  {describe(handle)}")
    out.text(_show_line(_("state"), state_text(handle["state"])))
    out.text(_show_line(_("created"), handle.get("created_at")))
    if handle.get("destination"):
        out.text(_show_line(_("folder"), handle["destination"]))
    prompt = handle.get("pending_input")
    if prompt:
        asks = _("{plugin} asks: {reason}").format(
            plugin=prompt.get("plugin"), reason=prompt.get("reason", "")
        )
        out.text(_show_line(_("waiting"), asks))
        for spec in prompt.get("fields", []):
            out.text(f"{'':12}{spec['id']}: {field_hint(spec)}")
    if handle.get("result"):
        out.text(_show_line(_("result"), outcome_text(handle["result"])))
    if handle.get("error"):
        out.text(_show_line(_("error"), outcome_text(handle["error"], with_code=True)))
    for warning in handle.get("warnings") or []:
        out.text(_show_line(_("warning"), warning))
    return exit_for_state(handle["state"])


async def cmd_watch(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    return await watch_session(client, args.session_id, args.answers_data, out)


async def cmd_answer(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    answers: dict[str, Any] = {}
    for pair in args.pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(_("expected KEY=VALUE, got {pair!r}").format(pair=pair))
        answers[key] = value  # the server coerces text to each field's type
    from tray_app.api.client import ApiClientError

    try:
        handle = await client.resume(args.session_id, answers)
    except ApiClientError as error:
        if error.code != "invalid_answers":
            raise
        out.error(error.to_dict())  # its message names every refused field, once
        return EXIT_USAGE
    if out.as_json:
        out.json(handle)
    else:
        out.text(
            _("Answered; session {id}: {state}").format(
                id=handle["session_id"], state=state_text(handle["state"])
            )
        )
    return EXIT_OK


async def cmd_cancel(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    handle = await client.cancel(args.session_id, discard_files=args.discard)
    if out.as_json:
        out.json(handle)
        return EXIT_OK
    folder = handle.get("destination")
    if not folder:
        words = _("Cancelled session {id}")
    elif args.discard:
        words = _("Cancelled session {id}; folder removed: {folder}")
    else:
        words = _("Cancelled session {id}; folder kept: {folder}")
    out.text(words.format(id=handle["session_id"], folder=folder))
    return EXIT_OK


async def cmd_discard(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    handle = await client.discard_folder(args.session_id)
    if out.as_json:
        out.json(handle)
    else:
        outcome = handle.get("result") or handle.get("error") or {}
        out.text(
            _("Removed {path} (session {id})").format(
                path=outcome.get("path"), id=handle["session_id"]
            )
        )
    return EXIT_OK


async def cmd_again(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    handle = await client.start_again(args.session_id)
    if out.as_json:
        out.json(handle)
        return EXIT_OK
    out.text(
        _("Started session {id} again from {old}").format(
            id=handle["session_id"], old=args.session_id
        )
    )
    if handle.get("destination"):
        out.text(_("  folder: {path}").format(path=handle["destination"]))
    out.text(_follow_it(handle["session_id"]))
    return EXIT_OK


COMMANDS: dict[str, Callable[[ApiClient, argparse.Namespace, Output], Any]] = {
    "new": cmd_new,
    "list": cmd_list,
    "show": cmd_show,
    "watch": cmd_watch,
    "answer": cmd_answer,
    "cancel": cmd_cancel,
    "sync": sync_cli.cmd_sync,
    "discard": cmd_discard,
    "again": cmd_again,
}
