"""LEDs and buzzer feedback for the kiosk: a short green or a longer red with a buzz."""

from __future__ import annotations

import threading
from typing import Any

from edge.timers import Handle, Scheduler


class Feedback:
    def __init__(
        self,
        green_led: Any,
        red_led: Any,
        buzzer: Any,
        scheduler: Scheduler,
        *,
        show_s: float = 1.0,
        beep_s: float = 0.1,
    ) -> None:
        self.green_led = green_led
        self.red_led = red_led
        self.buzzer = buzzer
        self.scheduler = scheduler
        self.show_s = show_s
        self.beep_s = beep_s
        self._lock = threading.Lock()
        self._timers: list[Handle] = []

    def show(self, *, ok: bool) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self.green_led.value = ok
            self.red_led.value = not ok
            self.buzzer.on()
            self._timers = [
                self.scheduler.call_later(self.beep_s if ok else self.show_s, self.buzzer.off),
                self.scheduler.call_later(self.show_s, self._off),
            ]

    def _off(self) -> None:
        self.green_led.off()
        self.red_led.off()

    def close(self) -> None:
        for device in (self.green_led, self.red_led, self.buzzer):
            device.close()
