"""JSON Schema for the site file and device files, for editors and CI.

The schemas are generated from the models, so they cannot say anything the
loader does not; the committed copies under ``firmware-config/schema`` are
checked against freshly generated ones by the tests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from siteconfig.device_models import DEVICE_ADAPTER
from siteconfig.site_models import Site

logger = logging.getLogger(__name__)

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SITE_SCHEMA_FILE: Final = "site.schema.json"
DEVICE_SCHEMA_FILE: Final = "device.schema.json"


def site_schema() -> dict[str, Any]:
    """JSON Schema of ``site.yaml``."""
    schema = Site.model_json_schema()
    return _with_header(
        schema, "dorm-iot site file", "Campus, buildings, floors and rooms of one site."
    )


def device_schema() -> dict[str, Any]:
    """JSON Schema of a device file (gate, kiosk or room sensor)."""
    schema = DEVICE_ADAPTER.json_schema()
    return _with_header(
        schema, "dorm-iot device file", "One gate, kiosk or room sensor, chosen by 'kind'."
    )


def _with_header(schema: dict[str, Any], title: str, description: str) -> dict[str, Any]:
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        **schema,
        "title": title,
        "description": description,
    }


SCHEMAS: Final[dict[str, Callable[[], dict[str, Any]]]] = {
    SITE_SCHEMA_FILE: site_schema,
    DEVICE_SCHEMA_FILE: device_schema,
}


def render(schema: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_schemas() -> dict[str, str]:
    """File name -> file text of every schema."""
    return {name: render(make()) for name, make in SCHEMAS.items()}


def write_schemas(out_dir: Path) -> list[Path]:
    """Write every schema file into ``out_dir`` (created if needed); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_schemas().items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        logger.info("wrote %s", path)
        written.append(path)
    return written


def stale_schemas(out_dir: Path) -> list[Path]:
    """Schema files in ``out_dir`` that are missing or differ from the models."""
    stale = []
    for name, text in rendered_schemas().items():
        path = out_dir / name
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            stale.append(path)
    return stale
