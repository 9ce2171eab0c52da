"""The state machine's edges as the store takes them: each precomputed once (target,
phase, next action, whether it ends the session), so ``SessionStore.transition`` is one
table lookup. The machine itself is ``states.py``."""

from __future__ import annotations

from dataclasses import dataclass

from tray_app.sessions.states import (
    PHASE_OF_STATE,
    TERMINAL_STATES,
    TRANSITIONS,
    NextAction,
    Phase,
    SessionState,
)

__all__ = ["EDGES", "Edge"]


@dataclass(frozen=True, slots=True)
class Edge:
    """What taking one edge does, precomputed once so ``transition`` stays cheap."""

    target: SessionState
    #: The phase of the target state (None for PENDING, FAILED, ABORTED).
    phase: Phase | None
    next_action: NextAction
    terminal: bool
    #: FAILED and ABORTED remember the phase they interrupted.
    ends_abnormally: bool
    #: From a working phase to the next, neither waiting for input nor ending:
    #: transition() takes these inline.
    plain: bool


def _edge(source: SessionState, target: SessionState) -> Edge:
    waiting = SessionState.INPUT_REQUIRED
    terminal = target in TERMINAL_STATES
    return Edge(
        target=target,
        phase=PHASE_OF_STATE.get(target),
        next_action=NextAction.AWAITING_INPUT if target is waiting else NextAction.NONE,
        terminal=terminal,
        ends_abnormally=target in (SessionState.FAILED, SessionState.ABORTED),
        plain=not terminal and waiting not in (source, target),
    )


#: source state -> target state -> edge. A missing key is an illegal transition.
EDGES: dict[SessionState, dict[SessionState, Edge]] = {
    source: {target: _edge(source, target) for target in targets}
    for source, targets in TRANSITIONS.items()
}
