"""A throwaway VictoriaMetrics single node that accepts InfluxDB line protocol.

VictoriaMetrics answers InfluxDB's ``/api/v2/write`` (what influxdb-client
uses) with 204 even when lines are malformed; it skips them and logs an error.
A test must therefore read back what landed: :meth:`VictoriaMetrics.force_flush`
then :meth:`VictoriaMetrics.export`. Field ``f`` of measurement ``m`` is stored
as metric ``m_f``; tags become labels; timestamps are kept in milliseconds.

Measured with VictoriaMetrics 1.79: a *new* series stamped within the current
hour shows up in exports up to about a second after ``force_flush`` (it is
registered in the current-hour index asynchronously); older timestamps show up
at once. :meth:`VictoriaMetrics.wait_for_export` polls for that case.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Final, TypedDict, cast

from devservices.base import DevService
from devservices.errors import DevServiceError
from devservices.ports import LOCALHOST, find_free_port
from devservices.process import ChildProcess, find_binary, wait_until_ready

logger = logging.getLogger(__name__)

VICTORIA_FALLBACKS: Final = (
    Path("/usr/bin/victoria-metrics"),
    Path("/usr/local/bin/victoria-metrics-prod"),
)
HTTP_TIMEOUT_S: Final = 10.0


class ExportedSeries(TypedDict):
    """One line of ``/api/v1/export``: a series' labels and its samples."""

    metric: dict[str, str]
    values: list[float]
    timestamps: list[int]


class VictoriaMetricsHttpError(DevServiceError):
    """An HTTP request to VictoriaMetrics failed or was answered with an error status."""


class VictoriaMetricsTimeoutError(DevServiceError, TimeoutError):
    """The series waited for did not appear in time."""


class VictoriaMetrics(DevService):
    """A private VictoriaMetrics on 127.0.0.1; :attr:`url` is its HTTP base URL."""

    service_name = "victoria-metrics"

    def __init__(
        self,
        *,
        port: int | None = None,
        binary: Path | None = None,
        base_dir: Path | None = None,
        start_timeout_s: float = 30.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(
            start_timeout_s=start_timeout_s,
            stop_timeout_s=stop_timeout_s,
            base_dir=base_dir,
            ports_given=port is not None,
        )
        self._port = port
        self._binary = binary
        self._process: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.running

    # -- reading back what landed ------------------------------------------------------

    def force_flush(self) -> None:
        """Make every sample received so far visible to queries and exports."""
        self._request("GET", "/internal/force_flush")

    def export(self, match: str) -> list[ExportedSeries]:
        """All samples of the series matching the selector ``match`` (e.g. ``m_f`` or
        ``{__name__=~"m_.*",building="b1"}``), one entry per series.

        Call :meth:`force_flush` first to see samples written just before.
        """
        query = urllib.parse.urlencode({"match[]": match})
        body = self._request("GET", f"/api/v1/export?{query}")
        series: list[ExportedSeries] = []
        for line in body.decode("utf-8").splitlines():
            if line.strip():
                series.append(cast(ExportedSeries, json.loads(line)))
        return series

    def wait_for_export(
        self, match: str, *, min_series: int = 1, timeout_s: float = 5.0
    ) -> list[ExportedSeries]:
        """Flush and export until at least ``min_series`` series match ``match``."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.force_flush()
            series = self.export(match)
            if len(series) >= min_series:
                return series
            if time.monotonic() >= deadline:
                raise VictoriaMetricsTimeoutError(
                    f"{len(series)} of {min_series} series matching {match} after {timeout_s:.1f} s"
                )
            time.sleep(0.05)

    def write_line_protocol(
        self, body: str | bytes, *, bucket: str = "b", org: str = "o", precision: str = "ns"
    ) -> int:
        """POST raw InfluxDB line protocol to ``/api/v2/write``; return the HTTP status.

        A 2xx status does not mean every line landed: malformed lines are skipped.
        """
        query = urllib.parse.urlencode({"bucket": bucket, "org": org, "precision": precision})
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self._request_status("POST", f"/api/v2/write?{query}", data)

    def _request(self, method: str, path: str, data: bytes | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                payload: bytes = response.read()
                return payload
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace").strip()
            raise VictoriaMetricsHttpError(
                f"{method} {path} answered {exc.code}: {detail}"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise VictoriaMetricsHttpError(f"{method} {path} failed: {exc}") from exc

    def _request_status(self, method: str, path: str, data: bytes | None) -> int:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code
        except (OSError, http.client.HTTPException) as exc:
            raise VictoriaMetricsHttpError(f"{method} {path} failed: {exc}") from exc

    def _healthy(self) -> bool:
        try:
            return self._request("GET", "/health").strip() == b"OK"
        except VictoriaMetricsHttpError:
            return False

    # -- DevService --------------------------------------------------------------------

    def _choose_ports(self) -> None:
        self._port = find_free_port()

    def _prepare(self) -> None:
        (self.workdir / "data").mkdir()

    def _launch(self) -> None:
        binary = self._binary or find_binary(
            "victoria-metrics",
            VICTORIA_FALLBACKS,
            package_hint="the Debian package 'victoria-metrics'",
        )
        argv = [
            str(binary),
            f"-storageDataPath={self.workdir / 'data'}",
            f"-httpListenAddr={LOCALHOST}:{self.port}",
            # Tests query what they wrote a moment ago: no 1-minute latency
            # offset, no response cache.
            "-search.latencyOffset=0s",
            "-search.disableCache",
            # Backtests write old timestamps; the default 1-month retention
            # would drop them silently.
            "-retentionPeriod=100y",
            "-memory.allowedPercent=20",
        ]
        self._process = ChildProcess("victoria-metrics", argv, self.log_path)
        self._process.spawn()

    def _wait_ready(self) -> None:
        process = self._process
        assert process is not None
        wait_until_ready(
            "victoria-metrics",
            self._healthy,
            timeout_s=self.start_timeout_s,
            log_path=self.log_path,
            alive=lambda: process.running,
        )

    def _shutdown(self) -> None:
        if self._process is not None:
            self._process.terminate(self.stop_timeout_s)

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
