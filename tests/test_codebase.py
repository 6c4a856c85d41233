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


def _writes_environ(node: ast.AST) -> bool:
    """os.environ[...] = …, os.environ.update/setdefault/pop(…), os.putenv(…)"""
    def is_environ(n):
        return isinstance(n, ast.Attribute) and n.attr == "environ"

    if isinstance(node, (ast.Assign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Subscript) and is_environ(t.value) for t in targets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return (is_environ(node.func.value) and node.func.attr in {"update", "setdefault", "pop", "clear"}) or \
            node.func.attr in {"putenv", "unsetenv"}
    return False


def test_the_library_never_writes_the_process_environment():
    """Configuration is resolved once and passed on; a batch worker's thread share is set at runtime."""
    writes = [f"{path.relative_to(ROOT)}:{node.lineno}" for folder in ("agent", "tools", "web")
              for path in sorted((ROOT / folder).rglob("*.py"))
              for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if _writes_environ(node)]
    assert not writes, "these write os.environ: " + ", ".join(writes)


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


# -- the import graph: no cycles, and tools/ never reaches up into agent/ or web/ ---------------------------------
LAYERS = ("tools", "agent", "web")  # tools/ is the domain code; agent/ and web/ sit on it (the CLI serves web/)


def _modules() -> dict[str, Path]:
    out = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its file (lazy imports inside functions count too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    out = set()
    for target in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_import_graph_has_no_cycles_and_no_upward_imports():
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    upward = sorted(f"{name} imports {dep}" for name, deps in graph.items() for dep in deps
                    if name.startswith("tools") and not dep.startswith("tools"))
    assert not upward, upward
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    # the floors of agent/ (its subpackages and ground-floor modules) import one way only: no cycle between them
    floors = {}
    for name, deps in graph.items():
        if not name.startswith("agent"):
            continue
        floor = ".".join(name.split(".")[:2])
        floors.setdefault(floor, set()).update(".".join(d.split(".")[:2]) for d in deps)
    floors = {f: {d for d in deps if d != f and d in floors} for f, deps in floors.items()}
    assert _cycle(floors) is None, "floors import each other: " + " -> ".join(_cycle(floors))
    # the walk sees what it should: a known edge, and a cycle when one is put in
    assert "tools.spec" in graph["agent.planning.loop"]
    assert _cycle({**graph, "tools.vocab": graph["tools.vocab"] | {"tools.spec"}}) is not None
