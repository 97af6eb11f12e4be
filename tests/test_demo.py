"""`dorm demo` end to end: start it, poll the server until ready, use the API, Ctrl-C it.

One test of about 20 s on a quiet machine (up to a minute under load): it starts
three Mosquittos, the server, two gateways
and the simulated campus as the user would, which is what it checks.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from simulators.demo import LOGINS, login

REPO = Path(__file__).resolve().parents[1]


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if not ready:
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} within {timeout_s} s; output:\n" + "\n".join(lines))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    # A zombie is gone for our purposes (its parent has not reaped it yet).
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_demo_starts_answers_and_stops_cleanly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "demo", "--speed", "300", "--workdir", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until(process, "ready:", 120)
        text = "\n".join(lines)
        assert "[5/5]" in text  # progress while starting
        url = re.search(r"ready: dashboard and API at (http://\S+?)/ ", text)
        assert url is not None, text
        pids = [int(p) for p in re.search(r"processes: ([\d ]+)", text).group(1).split()]  # type: ignore[union-attr]
        assert len(pids) == 6  # 3 brokers, server, 2 gateways
        assert all(_alive(pid) for pid in pids)
        # Poll the URL until it answers, then use the API with a demo login.
        token = login(url.group(1), LOGINS[0][0], LOGINS[0][1])
        request = urllib.request.Request(
            f"{url.group(1)}/api/v1/buildings", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            buildings = json.loads(answer.read())
        assert {b["id"] for b in buildings} == {"b1", "b2"}
        for username, password, _role in LOGINS[1:]:
            assert login(url.group(1), username, password)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=90)
        assert process.returncode == 0, out
        assert "stopped; nothing left running" in out
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in pids if _alive(pid)] == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
