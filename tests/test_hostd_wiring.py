"""The daemon's program boundary: ``comptoir serve`` loads the daemon and nothing else (no
simulator, no demo, no test PKI, no httpx: the INSi/DMP clients load it only when
``[teleservices]`` is configured), and the wiring module is imported by nobody in ``hostd``.
Each check runs in a fresh interpreter so this test process's imports do not count.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = ("drivers.sim", "counter", "httpx", "tests")


def _modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def _offending(loaded: list[str]) -> list[str]:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def test_serve_path_imports_neither_simulator_nor_demo_nor_test_pki() -> None:
    # What `comptoir serve` runs up to the point of opening the box: the root CLI resolving
    # the `serve` command, then the wiring module with the app, the adapters and the listeners.
    loaded = _modules_after(
        "from hostd.cli import app\n"
        "import typer\n"
        "root = typer.main.get_command(app)\n"
        "ctx = root.make_context('comptoir', ['serve', '--help'], resilient_parsing=True)\n"
        "assert root.get_command(ctx, 'serve') is not None\n"
        "import hostd.wiring\n"
    )
    assert "hostd.wiring" in loaded and "hostd.app" in loaded  # the probe did load the daemon
    assert _offending(loaded) == []
    assert "drivers.sim.testpki" not in loaded


# Each of these is memory the box only spends when it uses the part that needs it: the SOAP
# stack of the téléservices (lxml, signxml, httpx), numpy (the camera decoder; sqlite-utils
# would import it for nothing), the QR drawing of the technician's certificate order (segno).
# Together about 22 MB of a daemon whose idle target is 80 MB (bench/daemon_footprint.py).
LOADED_ON_USE = ("lxml", "signxml", "httpx", "numpy", "cv2", "zxingcpp", "segno")


def test_serve_path_loads_no_library_of_an_unconfigured_part() -> None:
    loaded = _modules_after("import hostd.wiring\nimport hostd.app\n")
    assert [m for m in loaded if m.split(".")[0] in LOADED_ON_USE] == []


def test_root_cli_loads_command_groups_only_when_named() -> None:
    loaded = _modules_after("import hostd.cli")
    assert not [m for m in loaded if m.startswith(("provisioning.cli", "drivers.sim", "counter",
                                                    "hostd.commands", "hostd.wiring"))]


def test_nothing_in_hostd_imports_the_wiring_module_back() -> None:
    importers = []
    for path in (ROOT / "hostd").rglob("*.py"):
        if path.name == "wiring.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if "hostd.wiring" in names and path.name != "commands.py":
                importers.append(str(path.relative_to(ROOT)))
            if any(n == "counter" or n.startswith(("counter.", "drivers.sim")) for n in names):
                importers.append(str(path.relative_to(ROOT)))
    # hostd/commands.py runs `serve` (it calls the wiring inside the command, never at import).
    assert importers == []


def test_provisioned_and_server_do_not_import_each_other() -> None:
    for module, other in (("provisioned", "hostd.server"), ("server", "hostd.provisioned")):
        tree = ast.parse((ROOT / "hostd" / f"{module}.py").read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert other not in imported, module
