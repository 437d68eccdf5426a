"""The checked-in LGO clients are what the current OpenAPI document generates.

scripts/gen_clients.sh regenerates everything into a temporary directory; any file that is
missing, extra or different under clients/ fails the test with the first lines of its diff, so
a route, model or docstring change cannot land without its regenerated clients.
"""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "clients"
GENERATED = ("openapi.json", "python/comptoir_client", "typescript/src/schema.d.ts")
"""What scripts/gen_clients.sh writes, relative to its output directory."""


def generated_files(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for part in GENERATED:
        path = root / part
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in candidates:
            if file.is_file() and "__pycache__" not in file.parts:
                files[file.relative_to(root).as_posix()] = file.read_bytes()
    return files


def drift(checked_in: dict[str, bytes], fresh: dict[str, bytes]) -> list[str]:
    old, new = set(checked_in), set(fresh)
    problems = [f"{name}: not checked in" for name in sorted(new - old)]
    problems += [f"{name}: no longer generated" for name in sorted(old - new)]
    for name in sorted(old & new):
        if checked_in[name] != fresh[name]:
            diff = difflib.unified_diff(
                checked_in[name].decode(errors="replace").splitlines(),
                fresh[name].decode(errors="replace").splitlines(),
                "checked-in", "generated", lineterm="", n=1,
            )
            problems.append(f"{name}: differs\n" + "\n".join(list(diff)[:20]))
    return problems


@pytest.mark.slow
def test_checked_in_clients_are_what_the_current_api_generates(tmp_path: Path) -> None:
    run = subprocess.run(
        [str(ROOT / "scripts" / "gen_clients.sh"), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    fresh = generated_files(tmp_path / "out")
    assert "python/comptoir_client/client.py" in fresh and "typescript/src/schema.d.ts" in fresh
    problems = drift(generated_files(CLIENTS), fresh)
    assert not problems, (
        "clients/ is out of date: run scripts/gen_clients.sh and commit the result\n"
        + "\n".join(problems)
    )


def test_drift_names_changed_missing_and_extra_files() -> None:
    checked_in = {"a": b"x\n", "b": b"same\n", "gone": b""}
    fresh = {"a": b"y\n", "b": b"same\n", "new": b""}
    problems = drift(checked_in, fresh)
    assert problems[0] == "new: not checked in"
    assert problems[1] == "gone: no longer generated"
    assert problems[2].startswith("a: differs") and "-x" in problems[2] and "+y" in problems[2]
    assert len(problems) == 3
