"""``exlab-tray sync``: the NAS sync queue of the running instance, Retry now, requeue.

Kept beside ``cli.py`` (which registers it) so the command's wording lives in
one place; it talks to the running instance through the API client.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tray_app.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from tray_app.api.client import ApiClient
    from tray_app.cli import Output

__all__ = ["add_parser", "cmd_sync", "describe_job"]

#: A job's status in its line (marked here, translated in describe_job).
_STATUS_WORDS = {
    "queued": N_("queued"),
    "copying": N_("copying"),
    "synced": N_("synced"),
    "waiting": N_("waiting"),
    # Translators: in capitals, so a failed job stands out in the list.
    "failed": N_("FAILED"),
}


def add_parser(commands: Any, json_flag: argparse.ArgumentParser) -> None:
    sync = commands.add_parser(
        "sync",
        parents=[json_flag],
        help=_("show the NAS sync queue; retry or requeue a folder"),
        description=_("Without options: the queue's summary and its unfinished or failed jobs."),
    )
    sync.add_argument("--all", action="store_true", help=_("list synced jobs too"))
    action = sync.add_mutually_exclusive_group()
    action.add_argument("--retry", metavar="JOB", help=_("retry this sync job now"))
    action.add_argument(
        "--requeue",
        metavar="ID",
        help=_(
            "queue again: a job id, a session id or a folder (a folder whose sync "
            "post-validation blocked is checked again first)"
        ),
    )


def _when(value: Any) -> str:
    return str(value)[:19].replace("T", " ") if value else ""


def describe_job(job: dict[str, Any]) -> str:
    words = _STATUS_WORDS.get(job.get("status", ""))
    status = _(words) if words else str(job.get("status"))
    line = f"{job['id']}  {status:<8} {job.get('target', '')}"
    reason = job.get("reason") or {}
    if job.get("status") == "synced":
        files = job.get("files") or 0
        synced = ngettext("{n} file, {when}", "{n} files, {when}", files)
        line += f"  ({synced.format(n=files, when=_when(job.get('finished_at')))})"
    elif reason:
        line += f"\n    {reason_message(reason)}"
        if job.get("next_attempt_at"):
            when = _when(job["next_attempt_at"])
            line += " " + _("(next try {when} UTC)").format(when=when)
    return line


def reason_message(reason: dict[str, Any]) -> str:
    """A job's reason in this command's language: the words for its code, else the
    server's message."""
    from tray_app.creation.sync.summary import reason_words

    return reason_words(reason.get("code"), reason.get("message"))


async def cmd_sync(client: ApiClient, args: argparse.Namespace, out: Output) -> int:
    if args.retry or args.requeue:
        job = (
            await client.retry_sync(args.retry)
            if args.retry
            else await client.requeue_sync(args.requeue)
        )
        if out.as_json:
            out.json(job)
        else:
            out.text(_("queued again: {job}").format(job=describe_job(job)))
        return 0
    listing = await client.sync()
    if out.as_json:
        out.json(listing)
        return 0
    if not listing.get("configured"):
        out.text(_("NAS sync is off: no {key} in the settings.").format(key="nas_root"))
        return 0
    summary = listing.get("summary") or {}
    from tray_app.creation.sync.summary import headline_of

    out.text(headline_of(summary))
    for problem in summary.get("problems") or []:
        out.text(_("  problem: {problem}").format(problem=problem))
    jobs = listing.get("jobs") or []
    shown = [j for j in jobs if args.all or j.get("status") != "synced"]
    for job in shown:
        out.text("  " + describe_job(job).replace("\n", "\n  "))
    if any(j.get("status") == "failed" for j in jobs):
        return 1  # a folder that will not reach the NAS without help
    return 0
