"""Nonces of QR tokens already presented, so a replayed token is refused.

A token is accepted only until its ``expires_at`` (its step plus one step of
skew), so a nonce needs remembering only that long: entries are dropped once
their token has expired, which bounds the cache by the number of tokens shown
in about 90 seconds. ``max_entries`` bounds it against a flood as well; the
oldest entries go first and every eviction is counted.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime

log = logging.getLogger(__name__)


class NonceCache:
    """Remembers ``nonce -> expiry``; ``in`` answers whether a nonce is still remembered."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.evicted = 0
        self._expiry_s: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, nonce: object) -> bool:
        with self._lock:
            return nonce in self._expiry_s

    def __len__(self) -> int:
        return len(self._expiry_s)

    def remember(self, nonce: str, expires_at: datetime, now: datetime) -> None:
        """Remember ``nonce`` until ``expires_at``; forget what expired before ``now``."""
        now_s = now.timestamp()
        with self._lock:
            self._prune(now_s)
            self._expiry_s[nonce] = expires_at.timestamp()
            self._expiry_s.move_to_end(nonce)
            while len(self._expiry_s) > self.max_entries:
                self._expiry_s.popitem(last=False)
                self.evicted += 1
                if self.evicted in (1, 10, 100) or self.evicted % 1000 == 0:
                    log.warning("nonce cache full: %d nonces forgotten early", self.evicted)

    def _prune(self, now_s: float) -> None:
        # Tokens arrive roughly in expiry order; stop at the first live one.
        while self._expiry_s:
            nonce, expiry_s = next(iter(self._expiry_s.items()))
            if expiry_s > now_s:
                return
            del self._expiry_s[nonce]
