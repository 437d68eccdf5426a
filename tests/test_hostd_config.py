"""Configuration: defaults, overrides, and one clear line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostd.config import ConfigError, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "comptoir.toml"
    path.write_text(text)
    return path


def test_defaults_and_state_dir_override(tmp_path: Path) -> None:
    settings = load(write(tmp_path, "[cps]\nidle_timeout_s = 60\n"), state_dir=tmp_path / "s")
    assert settings.state_dir == tmp_path / "s"
    assert settings.cps.idle_timeout_s == 60
    assert settings.server.listen == "127.0.0.1"
    assert settings.cps.end_of_day_time().hour == 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[cps]\nend_of_day = '25:00'\n", "cps.end_of_day: must be HH:MM (24 h)"),
        ("[server]\nport = 70000\n", "server.port: Input should be less than or equal to 65535"),
        ("[server]\nlisten = 'box.local'\n", "'box.local' does not appear to be an IPv4"),
        ("[cps]\nidel_timeout_s = 5\n", "cps.idel_timeout_s: Extra inputs are not permitted"),
        ("[cps\n", "not valid TOML"),
    ],
)
def test_mistakes_give_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.toml")


def test_every_command_finds_the_state_directory_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostd.config import settings_for

    cfg = write(tmp_path, f'state_dir = "{tmp_path / "from-file"}"\n')
    monkeypatch.delenv("COMPTOIR_STATE_DIR", raising=False)
    assert settings_for(cfg).state_dir == tmp_path / "from-file"
    monkeypatch.setenv("COMPTOIR_STATE_DIR", str(tmp_path / "from-env"))
    assert settings_for(cfg).state_dir == tmp_path / "from-env"
    assert settings_for(None).state_dir == tmp_path / "from-env"
    assert settings_for(cfg, state_dir=tmp_path / "flag").state_dir == tmp_path / "flag"
    with pytest.raises(ConfigError, match="cannot read"):
        settings_for(tmp_path / "missing.toml")


@pytest.mark.parametrize("command", [["provision", "status"], ["audit", "verify"]])
def test_provision_and_audit_read_the_config_file_serve_reads(
    tmp_path: Path, command: list[str]
) -> None:
    import os
    import subprocess
    import sys

    cfg = write(tmp_path, f'state_dir = "{tmp_path / "box"}"\n')
    env = {k: v for k, v in os.environ.items() if k != "COMPTOIR_STATE_DIR"}
    group, sub = command
    done = subprocess.run(
        [sys.executable, "-m", "hostd.cli", group, "--config", str(cfg), sub]
        if group == "provision" else
        [sys.executable, "-m", "hostd.cli", group, sub, "--config", str(cfg)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert done.returncode != 0
    assert str(tmp_path / "box") in done.stderr  # the file's state directory, not the default
    bad = write(tmp_path, "state_dir = 3\n")
    done = subprocess.run(
        [sys.executable, "-m", "hostd.cli", "provision", "--config", str(bad), "status"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "state_dir" in done.stderr
