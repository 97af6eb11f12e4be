"""Brute-force protection of the login: a rate limit per client and a lockout per account.

- Per client address: after ``attempts_per_window`` *failed* attempts within
  ``window_s`` (sliding window), further attempts are answered 429 with
  ``Retry-After``. Successful sign-ins are not counted, so a security office
  whose staff share one address (NAT) is never throttled for signing in.
- Per user name: after ``max_failures`` consecutive failed passwords within
  ``window_s`` the name is locked for ``lockout_s``; while locked, even the
  right password is refused (429), so guessing gains nothing. A success
  resets the count.

State is in memory, per server process: with N workers an attacker gets N
times the attempts, still bounded (docs/security.md). Memory is bounded:
the oldest entries are dropped beyond ``max_tracked``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        attempts_per_window: int = 10,
        max_failures: int = 5,
        window_s: float = 60.0,
        lockout_s: float = 900.0,
        max_tracked: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts_per_window = attempts_per_window
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_tracked = max_tracked
        self._clock = clock
        self._lock = threading.Lock()
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self.throttled = 0
        self.lockouts = 0

    def _trim(self, times: deque[float], now: float) -> None:
        while times and now - times[0] >= self.window_s:
            times.popleft()

    def check(self, client: str, username: str) -> float | None:
        """Before an attempt: the seconds to wait if it must be refused, else None."""
        now = self._clock()
        with self._lock:
            failures = self._failures.get(username)
            if failures is not None and failures.locked_until > now:
                self.throttled += 1
                return failures.locked_until - now
            attempts = self._attempts.get(client)
            if attempts is not None:
                self._trim(attempts, now)
                if len(attempts) >= self.attempts_per_window:
                    self.throttled += 1
                    return self.window_s - (now - attempts[0])
        return None

    def failed(self, client: str, username: str) -> bool:
        """Record a failed attempt; True if this failure locked the user name."""
        now = self._clock()
        with self._lock:
            attempts = self._attempts.setdefault(client, deque())
            self._attempts.move_to_end(client)
            self._trim(attempts, now)
            attempts.append(now)
            while len(self._attempts) > self.max_tracked:
                self._attempts.popitem(last=False)
            failures = self._failures.setdefault(username, _Failures())
            self._failures.move_to_end(username)
            self._trim(failures.times, now)
            failures.times.append(now)
            while len(self._failures) > self.max_tracked:
                self._failures.popitem(last=False)
            if len(failures.times) >= self.max_failures:
                failures.times.clear()
                failures.locked_until = now + self.lockout_s
                self.lockouts += 1
                return True
        return False

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)
