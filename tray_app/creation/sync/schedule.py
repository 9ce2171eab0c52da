"""When a job that failed for a passing reason is tried again: backoff with jitter.

About 30 s, 2 min, 10 min and 30 min after the first four failures, then every
two hours. The retry libraries on PyPI (tenacity, backoff, stamina) own the
waiting: they sleep inside a decorated call. Here the next moment is stored
with the job so it outlives a restart, so all we need is this one function of
the attempt count, with the random draw injected for tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

__all__ = ["BASE_DELAYS_S", "JITTER", "STEADY_DELAY_S", "next_attempt_at", "retry_delay_s"]

BASE_DELAYS_S = (30.0, 120.0, 600.0, 1800.0)
STEADY_DELAY_S = 7200.0
#: Each delay is spread by up to this fraction either way, so a lab's
#: workstations that lost the NAS together do not all come back in step.
JITTER = 0.2


def retry_delay_s(failures: int, draw: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 = the first).

    ``draw`` returns a number in [0, 1); 0.5 means no jitter.
    """
    base = BASE_DELAYS_S[failures - 1] if 1 <= failures <= len(BASE_DELAYS_S) else STEADY_DELAY_S
    return base * (1 + JITTER * (2 * draw() - 1))


def next_attempt_at(
    now: datetime, failures: int, draw: Callable[[], float] = random.random
) -> datetime:
    return now + timedelta(seconds=retry_delay_s(failures, draw))
