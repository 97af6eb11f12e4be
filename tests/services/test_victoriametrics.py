"""influxdb-client writes to the harness's VictoriaMetrics, and what landed is read back."""

from __future__ import annotations

import uuid

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from devservices import VictoriaMetrics

#: 2024-09-01T08:30:00Z in nanoseconds (line protocol's default precision).
BASE_TS_NS = 1_725_179_400_000_000_000
STEP_NS = 1_000_000_000


def unique_measurement(kind: str) -> str:
    return f"{kind}_{uuid.uuid4().hex[:12]}"


def test_influxdb_client_points_land_with_values_and_tags(victoria: VictoriaMetrics) -> None:
    measurement = unique_measurement("room")
    lines = [
        f"{measurement},building=b1,device=dev-a power_w=120.5,temp_c=21.25 {BASE_TS_NS}",
        f"{measurement},building=b1,device=dev-a power_w=130.0,temp_c=21.5 {BASE_TS_NS + STEP_NS}",
        f"{measurement},building=b2,device=dev-b power_w=7 {BASE_TS_NS}",
    ]
    with (
        InfluxDBClient(url=victoria.url, token="x", org="o") as client,
        client.write_api(write_options=SYNCHRONOUS) as write_api,
    ):
        write_api.write(bucket="b", record=lines)
    victoria.force_flush()

    power = victoria.export(f'{{__name__="{measurement}_power_w"}}')
    by_device = {series["metric"]["device"]: series for series in power}
    assert set(by_device) == {"dev-a", "dev-b"}
    dev_a = by_device["dev-a"]
    assert dev_a["metric"] == {
        "__name__": f"{measurement}_power_w",
        "building": "b1",
        "device": "dev-a",
    }
    assert dev_a["values"] == [120.5, 130.0]
    # VictoriaMetrics keeps milliseconds.
    assert dev_a["timestamps"] == [BASE_TS_NS // 1_000_000, (BASE_TS_NS + STEP_NS) // 1_000_000]
    assert by_device["dev-b"]["metric"]["building"] == "b2"
    assert by_device["dev-b"]["values"] == [7]

    [temp] = victoria.export(f'{measurement}_temp_c{{device="dev-a"}}')
    assert temp["values"] == [21.25, 21.5]


def test_malformed_lines_are_acknowledged_but_never_land(victoria: VictoriaMetrics) -> None:
    bad = unique_measurement("bad")
    good = unique_measurement("good")
    malformed = "\n".join(
        [
            f"{bad},building=b1 power_w= {BASE_TS_NS}",  # empty field value
            f"{bad},building=b1 {BASE_TS_NS}",  # no field at all
            f"{bad},building=b1",  # no field set, no timestamp
            f"{bad},building=b1 power_w=1 not-a-time",  # bad timestamp
        ]
    )
    status_bad = victoria.write_line_protocol(malformed)
    status_good = victoria.write_line_protocol(f"{good},building=b1 power_w=42 {BASE_TS_NS}")
    # The trap this harness exists for: a 2xx answer says nothing about the lines.
    assert 200 <= status_bad < 300
    assert 200 <= status_good < 300

    # The valid line, written after the malformed ones with the same timestamp,
    # is visible; so anything from the malformed request would be too.
    [series] = victoria.wait_for_export(f'{{__name__=~"{good}.*"}}')
    assert series["metric"] == {"__name__": f"{good}_power_w", "building": "b1"}
    assert series["values"] == [42]
    assert victoria.export(f'{{__name__=~"{bad}.*"}}') == []


def test_victoria_stores_values_influxdb_would_reject(victoria: VictoriaMetrics) -> None:
    """Where VictoriaMetrics is a weaker stand-in than InfluxDB 2.

    InfluxDB refuses ``power_w=abc`` and ``power_w=1x`` (400) and stores string
    fields as strings; VictoriaMetrics stores 0 for the first two, and a string
    field as the number it spells, else 0. So a test against it cannot catch a
    wrongly typed field: validate values before writing them.
    If this test fails, VictoriaMetrics became stricter; update docs/deployment.md.
    """
    measurement = unique_measurement("lenient")
    body = "\n".join(
        [
            f"{measurement},case=word power_w=abc {BASE_TS_NS}",
            f"{measurement},case=suffix power_w=1x {BASE_TS_NS}",
            f'{measurement},case=string power_w="on" {BASE_TS_NS}',
            f'{measurement},case=numeric-string power_w="120" {BASE_TS_NS}',
        ]
    )
    assert 200 <= victoria.write_line_protocol(body) < 300
    victoria.force_flush()
    stored = {
        series["metric"]["case"]: series["values"]
        for series in victoria.export(f"{measurement}_power_w")
    }
    assert stored == {"word": [0], "suffix": [0], "string": [0], "numeric-string": [120]}
