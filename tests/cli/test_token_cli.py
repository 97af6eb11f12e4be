"""``dorm token issue|verify|keygen`` as an installer or admin would use them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_issue_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = str(tmp_path / "keys")
    code, out, err = run(
        ["token", "issue", "--person", "p-1a2b", "--kind", "student", "--keys", keys], capsys
    )
    assert code == 0
    assert "created signing key 'k1'" in err
    token = out.strip()
    assert token.startswith("DQ1.")
    code, out, _ = run(["token", "verify", token, "--keys", keys], capsys)
    assert code == 0
    assert out.startswith("valid: student p-1a2b key=k1")


@pytest.mark.parametrize(
    ("at", "reason"),
    [("2026-01-01T00:10:00+00:00", "expired"), ("2025-12-31T23:00:00+00:00", "not_yet_valid")],
)
def test_verify_reports_the_reason_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str, reason: str
) -> None:
    keys = str(tmp_path / "keys")
    issue = ["token", "issue", "--person", "p-1a2b", "--kind", "staff", "--keys", keys]
    _, out, _ = run([*issue, "--at", "2026-01-01T00:00:00+00:00"], capsys)
    code, out, _ = run(["token", "verify", out.strip(), "--keys", keys, "--at", at], capsys)
    assert code == 1
    assert out.startswith(f"refused: {reason}")


def test_verify_malformed_and_unknown_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = str(tmp_path / "keys")
    other = str(tmp_path / "other")
    _, out, _ = run(
        ["token", "issue", "--person", "p-1", "--kind", "visitor", "--keys", other], capsys
    )
    run(["token", "keygen", "--kid", "k5", "--keys", keys], capsys)
    code, out, _ = run(["token", "verify", out.strip(), "--keys", keys], capsys)
    assert (code, out.split()[1]) == (1, "unknown_key")
    code, out, _ = run(["token", "verify", "DQ1.garbage", "--keys", keys], capsys)
    assert (code, out.split()[1]) == (1, "malformed")


def test_issue_writes_a_qr_that_decodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = str(tmp_path / "keys")
    png = tmp_path / "me.png"
    code, out, _ = run(
        [
            "token",
            "issue",
            "--person",
            "p-9z",
            "--kind",
            "student",
            "--keys",
            keys,
            "--qr",
            str(png),
        ],
        capsys,
    )
    assert code == 0
    code, out, _ = run(["qr", "decode", str(png), "--keys", keys], capsys)
    assert code == 0
    assert "token valid: student p-9z" in out


def test_installed_console_command_and_help() -> None:
    dorm = Path(sys.executable).with_name("dorm")
    result = subprocess.run(
        [str(dorm), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0
    for command in (
        "demo",
        "server",
        "gateway",
        "edge",
        "simulate",
        "config",
        "provision",
        "token",
        "qr",
        "rules",
    ):
        assert command in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["demo"], ["server"], ["gateway"], ["edge"], ["simulate"], ["config", "validate"],
        ["provision"], ["token", "issue"], ["token", "verify"], ["qr", "decode"],
        ["rules", "backtest"],
    ],
)  # fmt: skip
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--help"])
    assert caught.value.code == 0
    assert "usage: dorm" in capsys.readouterr().out
