"""LoopTimer: fires once per start, a restart replaces the earlier deadline, cancel stops it."""

from __future__ import annotations

import asyncio

from tray_app.loop_timer import LoopTimer


async def test_a_restart_replaces_the_earlier_deadline_and_cancel_stops_it() -> None:
    fired: list[str] = []
    done = asyncio.Event()
    late = LoopTimer(lambda: fired.append("late"))
    soon = LoopTimer(lambda: (fired.append("soon"), done.set()))
    late.start(0)
    late.cancel()  # never fires, though its moment comes before the one below
    assert not late.active
    soon.start(3600)
    soon.start(0)  # pushed forward: the hour-long deadline is gone
    assert soon.active
    await asyncio.wait_for(done.wait(), timeout=10)
    assert not soon.active
    # A later loop turn: nothing else was due.
    await asyncio.sleep(0)
    assert fired == ["soon"]
