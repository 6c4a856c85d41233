"""The codebase as a package and as code to read: a built wheel runs from anywhere; functions stay short."""
from __future__ import annotations

import ast
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

MAX_FUNCTION_LINES = 50


def test_no_function_in_the_library_is_longer_than_fifty_lines():
    long = []
    for folder in ("agent", "tools", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these functions: " + "; ".join(long)


@pytest.mark.slow
def test_a_built_wheel_installed_in_a_fresh_venv_generates_from_another_folder(tmp_path):
    """Not editable: prompts/ and config.yaml must travel inside the wheel. The fresh venv sees this
    environment's third-party packages through a .pth file (no downloads), but not the checkout."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(wheels)], check=True, capture_output=True, cwd=tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", *wheels.glob("*.whl")], check=True,
                   capture_output=True)
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_third_party.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([env_dir / "bin" / "albumgen", "generate", ROOT / "covers" / "midnight-orbit.png", "-o", "out",
                           "--duration", "4", "--seed", "1", "-n"], capture_output=True, text=True, cwd=elsewhere,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-1500:]
    where = subprocess.run([py, "-c", "import agent, prompts; print(agent.__file__, prompts.__path__[0])"],
                           capture_output=True, text=True, cwd=elsewhere).stdout
    assert str(ROOT) not in where and str(site) in where
    (run_dir,) = (elsewhere / "out").iterdir()
    assert {"audio.wav", "trace.json", "trace.md", "spec.json", "evidence.png"} <= {p.name for p in run_dir.iterdir()}
