"""One ordered stream of a building: a reorder buffer, a watermark and timers.

Each building has one stream per source kind (``gate``, ``kiosk``, ``room``,
``health``). An event waits in the stream's buffer until the watermark
(the latest event time seen on the stream minus the kind's allowed lateness)
passes it, and is then handed to the rules in event-time order (ties by event
id), interleaved with the timers the rules set. Delivered in any order within
the lateness, a stream therefore releases the same sequence.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from protocol.messages import Message

GATE: Final = "gate"
KIOSK: Final = "kiosk"
ROOM: Final = "room"
HEALTH: Final = "health"
STREAM_KINDS: Final = (GATE, KIOSK, ROOM, HEALTH)

#: ``callback(stream, key, token, fire_time_s)``
TimerCallback = Callable[["Stream", Any, Any, float], None]


@dataclass(slots=True, eq=False)
class Stream:
    building: str
    kind: str
    lateness_s: float
    #: Events at or before it are released; anything arriving before it is late.
    watermark: float = -math.inf
    max_ts: float = -math.inf
    #: Whether the message that last moved the watermark was a replayed one.
    advanced_by_replay: bool = False
    started: bool = False
    buffer: list[tuple[float, str, Message]] = field(default_factory=list)
    timers: list[tuple[float, int, TimerCallback, Any, Any]] = field(default_factory=list)
    #: (ts, id) of released events, kept for de-duplication until the watermark passes.
    released: deque[tuple[float, str]] = field(default_factory=deque)

    def push(self, ts: float, event_id: str, message: Message, replayed: bool) -> None:
        heapq.heappush(self.buffer, (ts, event_id, message))
        self.see(ts, replayed)

    def see(self, ts: float, replayed: bool) -> None:
        """Event time ``ts`` was seen on this stream (an event or a heartbeat)."""
        if ts > self.max_ts:
            self.max_ts = ts
            candidate = ts - self.lateness_s
            if candidate > self.watermark:
                self.watermark = candidate
                self.advanced_by_replay = replayed

    def advance_to(self, watermark: float) -> None:
        """Processing time moved the watermark (a live, idle building)."""
        if watermark > self.watermark:
            self.watermark = watermark
            self.advanced_by_replay = False


class TimerQueue:
    """Sequence numbers for timers, so equal fire times keep their set order."""

    def __init__(self) -> None:
        self._seq = 0

    def schedule(
        self, stream: Stream, at_s: float, callback: TimerCallback, key: Any, token: Any = None
    ) -> None:
        self._seq += 1
        heapq.heappush(stream.timers, (at_s, self._seq, callback, key, token))
