"""Power meters: the PZEM-004T (v3) read over Modbus RTU, and a simulated one.

The PZEM-004T answers "read input registers" (function 0x04) from register 0:
voltage, current (2 words), power (2 words, low word first, 0.1 W), energy,
frequency, power factor, alarm. We read the ten registers and use the power.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any, Final

log = logging.getLogger(__name__)

READ_INPUT_REGISTERS: Final = 0x04
REGISTER_COUNT: Final = 10
RESPONSE_BYTES: Final = 5 + 2 * REGISTER_COUNT


def modbus_crc(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(frame: bytes) -> bytes:
    return frame + struct.pack("<H", modbus_crc(frame))


def read_request(address: int) -> bytes:
    return with_crc(struct.pack(">BBHH", address, READ_INPUT_REGISTERS, 0, REGISTER_COUNT))


def parse_power_w(address: int, response: bytes) -> float | None:
    """Power in watts from a response; None if it is short, for someone else or corrupt."""
    if len(response) != RESPONSE_BYTES:
        return None
    if struct.unpack("<H", response[-2:])[0] != modbus_crc(response[:-2]):
        return None
    if response[0] != address or response[1] != READ_INPUT_REGISTERS:
        return None
    if response[2] != 2 * REGISTER_COUNT:
        return None
    registers = struct.unpack(f">{REGISTER_COUNT}H", response[3:-2])
    power_tenths: int = registers[3] | registers[4] << 16
    return power_tenths / 10.0


class Pzem004tMeter:
    """Reads a PZEM-004T through an open serial port (pyserial ``Serial`` with a timeout)."""

    def __init__(self, port: Any, address: int = 1) -> None:
        self.port = port
        self.address = address
        self.errors = 0

    def read_power_w(self) -> float | None:
        try:
            self.port.reset_input_buffer()
            self.port.write(read_request(self.address))
            response = self.port.read(RESPONSE_BYTES)
        except OSError as exc:
            self.errors += 1
            log.warning("power meter: %s", exc)
            return None
        power_w = parse_power_w(self.address, bytes(response))
        if power_w is None:
            self.errors += 1
            log.warning("power meter: bad or missing response (%d bytes)", len(response))
        return power_w


class SimulatedMeter:
    """Whatever the simulator says the room draws."""

    def __init__(self, source: Callable[[], float] = lambda: 0.0) -> None:
        self.source = source

    def read_power_w(self) -> float | None:
        return self.source()


class FixedThermometer:
    def __init__(self, temperature_c: float = 21.0) -> None:
        self.temperature_c = temperature_c

    def read_temperature_c(self) -> float | None:
        return self.temperature_c
