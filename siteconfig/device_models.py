"""Device files: one gate, kiosk or room sensor per file.

A device file is a discriminated union on ``kind``. GPIO pins are BCM
numbers; a pin used twice in one device, or a pin that a configured bus
(I2C, the Pi's UART, 1-Wire) already occupies, is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from siteconfig.errors import Finding, raise_findings
from siteconfig.fields import (
    MODEL_CONFIG,
    BcmPin,
    CameraDevice,
    DevicePath,
    Id,
    Name,
    StrictBool,
    StrictInt,
)
from siteconfig.site_models import Broker

DeviceKind = Literal["gate", "kiosk", "room-sensor"]
Baud = Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]

#: Serial ports wired to the Pi's own UART on BCM 14 (TXD) and 15 (RXD).
PI_UART_PORTS: Final = frozenset({"/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0"})
#: The header pins of I2C bus 1 (SDA, SCL).
I2C1_PINS: Final = (2, 3)


# -- placement, door, camera -------------------------------------------------


class Placement(BaseModel):
    """Where a gate or kiosk stands."""

    model_config = MODEL_CONFIG

    place: Name = Field(description='free text, e.g. "main entrance, east side"')
    floor: StrictInt | None = Field(
        default=None, description="floor level (must exist in the building when given)"
    )


class DoorTiming(BaseModel):
    model_config = MODEL_CONFIG

    unlock_s: float = Field(
        default=5, gt=0, le=60, strict=True, description="how long the lock stays released"
    )
    held_open_s: float = Field(
        default=30, gt=0, le=3600, strict=True, description="door open longer than this: alarm"
    )
    relock_on_close: StrictBool = Field(
        default=True, description="relock as soon as the door contact reports closed"
    )


class Camera(BaseModel):
    model_config = MODEL_CONFIG

    device: CameraDevice = Field(default=0, description="V4L2 index (0) or path (/dev/video0)")
    width_px: StrictInt = Field(default=640, ge=160, le=4096, description="frame width, pixels")
    height_px: StrictInt = Field(default=480, ge=120, le=4096, description="frame height, pixels")
    fps: float = Field(default=15, gt=0, le=120, strict=True, description="frames per second")


# -- card readers --------------------------------------------------------------


class EvdevReader(BaseModel):
    """A USB reader that types the card number like a keyboard."""

    model_config = MODEL_CONFIG

    kind: Literal["evdev"] = Field(description="reader type")
    device: DevicePath = Field(description="input device, e.g. /dev/input/by-id/usb-...-event-kbd")


class SerialReader(BaseModel):
    model_config = MODEL_CONFIG

    kind: Literal["serial"] = Field(description="reader type")
    port: DevicePath = Field(description="serial port, e.g. /dev/ttyUSB0 or /dev/serial0")
    baud: Baud = Field(default=9600, description="bits per second")


class StdinReader(BaseModel):
    """Card numbers typed on standard input: for bench tests and demos."""

    model_config = MODEL_CONFIG

    kind: Literal["stdin"] = Field(description="reader type")


CardReader = Annotated[EvdevReader | SerialReader | StdinReader, Field(discriminator="kind")]


# -- bus sensors ---------------------------------------------------------------


class Pzem004t(BaseModel):
    """PZEM-004T AC power meter, Modbus RTU over a serial port."""

    model_config = MODEL_CONFIG

    kind: Literal["pzem-004t"] = Field(description="meter model")
    port: DevicePath = Field(description="serial port, e.g. /dev/ttyUSB0")
    baud: Baud = Field(default=9600, description="bits per second")
    address: StrictInt = Field(default=1, ge=1, le=247, description="Modbus slave address")


PowerMeter = Annotated[Pzem004t, Field(discriminator="kind")]


class Ds18b20(BaseModel):
    """DS18B20 thermometer on the 1-Wire bus."""

    model_config = MODEL_CONFIG

    kind: Literal["ds18b20"] = Field(description="sensor model")
    address: str = Field(
        pattern=r"^28-[0-9a-f]{12}$",
        strict=True,
        description="1-Wire id as listed in /sys/bus/w1/devices, e.g. 28-0316a2791bff",
    )
    pin: BcmPin = Field(default=4, description="BCM pin of the 1-Wire bus (w1-gpio overlay)")


class Sht31(BaseModel):
    """SHT31 temperature/humidity sensor on I2C."""

    model_config = MODEL_CONFIG

    kind: Literal["sht31"] = Field(description="sensor model")
    bus: StrictInt = Field(default=1, ge=0, le=22, description="I2C bus number (/dev/i2c-N)")
    address: Literal[0x44, 0x45] = Field(default=0x44, description="I2C address, 0x44 or 0x45")


TemperatureSensor = Annotated[Ds18b20 | Sht31, Field(discriminator="kind")]


# -- pin maps ------------------------------------------------------------------


class _PinMap(BaseModel):
    model_config = MODEL_CONFIG

    def used(self) -> Iterator[tuple[str, int]]:
        """(function, BCM pin) for every pin that is set."""
        for name in type(self).model_fields:
            pin = getattr(self, name)
            if pin is not None:
                yield name, pin

    @model_validator(mode="after")
    def _each_pin_once(self) -> Self:
        first_user: dict[int, str] = {}
        findings: list[Finding] = []
        for name, pin in self.used():
            if pin in first_user:
                findings.append(
                    Finding((name,), f"BCM pin {pin} is already used by '{first_user[pin]}'")
                )
            first_user.setdefault(pin, name)
        raise_findings(findings)
        return self


class GatePins(_PinMap):
    relay: BcmPin = Field(description="door lock relay (output)")
    door_contact: BcmPin = Field(description="door contact, closed when the door is shut (input)")
    exit_button: BcmPin = Field(description="request-to-exit button inside (input)")
    green_led: BcmPin = Field(description="green LED: access granted (output)")
    red_led: BcmPin = Field(description="red LED: access refused (output)")
    buzzer: BcmPin = Field(description="buzzer (output)")
    people_counter: BcmPin | None = Field(
        default=None, description="optional beam-break people counter (input)"
    )


class KioskPins(_PinMap):
    green_led: BcmPin = Field(description="green LED: check-in accepted (output)")
    red_led: BcmPin = Field(description="red LED: refused (output)")
    buzzer: BcmPin = Field(description="buzzer (output)")


class RoomSensorPins(_PinMap):
    occupancy: BcmPin = Field(description="PIR motion sensor (input)")
    smoke: BcmPin = Field(description="smoke detector alarm contact (input)")


# -- devices -------------------------------------------------------------------


class _DeviceBase(BaseModel):
    model_config = MODEL_CONFIG

    version: Literal[1] = Field(default=1, description="format version of this file")
    id: Id = Field(description="device id; equals the file name without .yaml")
    building: Id = Field(description="id of the building in the site file")
    broker: Broker = Field(description="MQTT broker the device connects to (its building's)")
    heartbeat_s: float = Field(
        default=30, gt=0, le=3600, strict=True, description="seconds between heartbeats"
    )

    def _bus_pins(self) -> dict[int, str]:
        """BCM pins taken by buses this device uses, with who takes them."""
        return {}

    def _pin_map(self) -> _PinMap:
        raise NotImplementedError

    @model_validator(mode="after")
    def _pins_free_of_buses(self) -> Self:
        taken = self._bus_pins()
        findings = [
            Finding(("pins", name), f"BCM pin {pin} is taken by {taken[pin]}")
            for name, pin in self._pin_map().used()
            if pin in taken
        ]
        raise_findings(findings)
        return self

    def gpio_pins(self) -> dict[str, int]:
        """Function name -> BCM pin, for the pins this device drives or reads."""
        return dict(self._pin_map().used())


def _serial_pins(port: str, user: str) -> dict[int, str]:
    if port in PI_UART_PORTS:
        return {14: f"{user} (UART TXD on {port})", 15: f"{user} (UART RXD on {port})"}
    return {}


def _reader_pins(reader: EvdevReader | SerialReader | StdinReader | None) -> dict[int, str]:
    if isinstance(reader, SerialReader):
        return _serial_pins(reader.port, "card_reader")
    return {}


class GateDevice(_DeviceBase):
    """A door with a lock, read by card or QR code."""

    kind: Literal["gate"] = Field(description="device kind")
    direction: Literal["entry", "exit"] = Field(description="which way people pass this gate")
    location: Placement = Field(description="where the device stands")
    door: DoorTiming = Field(default=DoorTiming(), description="door timings")
    pins: GatePins = Field(description="GPIO pins, BCM numbers")
    camera: Camera = Field(description="camera reading QR codes")
    card_reader: CardReader = Field(description="campus card reader")

    def _pin_map(self) -> _PinMap:
        return self.pins

    def _bus_pins(self) -> dict[int, str]:
        return _reader_pins(self.card_reader)


class KioskDevice(_DeviceBase):
    """The duty kiosk where counselors check in and out with a QR code."""

    kind: Literal["kiosk"] = Field(description="device kind")
    location: Placement = Field(description="where the device stands")
    pins: KioskPins = Field(description="GPIO pins, BCM numbers")
    camera: Camera = Field(description="camera reading QR codes")
    card_reader: CardReader | None = Field(default=None, description="optional staff card reader")

    def _pin_map(self) -> _PinMap:
        return self.pins

    def _bus_pins(self) -> dict[int, str]:
        return _reader_pins(self.card_reader)


class RoomSensorDevice(_DeviceBase):
    """Occupancy, power, smoke and temperature of one room."""

    kind: Literal["room-sensor"] = Field(description="device kind")
    room: Id = Field(description="id of the room (in this device's building)")
    pins: RoomSensorPins = Field(description="GPIO pins, BCM numbers")
    power_meter: PowerMeter = Field(description="the room's power meter")
    temperature: TemperatureSensor = Field(description="the room's thermometer")

    def _pin_map(self) -> _PinMap:
        return self.pins

    def _bus_pins(self) -> dict[int, str]:
        taken = _serial_pins(self.power_meter.port, "power_meter")
        sensor = self.temperature
        if isinstance(sensor, Ds18b20):
            taken[sensor.pin] = f"temperature (1-Wire bus of the {sensor.kind})"
        elif sensor.bus == 1:
            sda, scl = I2C1_PINS
            taken[sda] = f"temperature (I2C bus 1 SDA of the {sensor.kind})"
            taken[scl] = f"temperature (I2C bus 1 SCL of the {sensor.kind})"
        return taken


Device = Annotated[GateDevice | KioskDevice | RoomSensorDevice, Field(discriminator="kind")]
DEVICE_ADAPTER: Final[TypeAdapter[GateDevice | KioskDevice | RoomSensorDevice]] = TypeAdapter(
    Device
)


def parse_device(data: object) -> GateDevice | KioskDevice | RoomSensorDevice:
    """Validate a device file's data (raises ``pydantic.ValidationError``)."""
    return DEVICE_ADAPTER.validate_python(data)
