"""ipctrace as a user installing it from a package index gets it: the built wheel and sdist, a fresh venv.

One wheel and one sdist are built per session (`python -m build --no-isolation` on a copy of the
tree, so the sdist is what the wheel is built from), and one fresh virtual environment gets
`ipctrace[pytest]` from the wheel with the oldest scapy that pyproject.toml allows. A course
project with its own `tracer.py`, `tracer/` and `reference_programs/` then runs its own suite,
`ipctrace run tcp_hello` and a traced program of its own. The plugin's laziness and `python -m
ipctrace` are checked in the development environment too (fast, not marked slow).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import require_capture

REPO = Path(__file__).resolve().parent.parent
DEVNULL = subprocess.DEVNULL
#: Not part of the source: what a working tree holds besides it (CI clones have .git, a .venv, runs in output/).
NOT_SOURCE = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
GENERIC_NAMES = ("tracer", "reference_programs", "benchmarks")


# -- building and installing, once per session ------------------------------------------------------


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Venv:
    root: Path
    site_packages: Path
    scapy: str  # the version installed: the floor pyproject.toml declares

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, **extra: str) -> dict[str, str]:
        """A user's shell with the venv activated: nothing of this test run's Python or pytest set-up."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "PYTEST_", "IPCTRACE_")) and k != "VIRTUAL_ENV"
        }
        env["PATH"] = os.pathsep.join([str(self.bin), env.get("PATH", "/usr/bin:/bin")])
        env["VIRTUAL_ENV"] = str(self.root)
        return {**env, **extra}

    def run(self, *argv: str | Path, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=DEVNULL,
        )


def _not_source(folder: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n in NOT_SOURCE or n.endswith(".egg-info")}
    if Path(folder).resolve() == REPO / "output":
        ignored |= {n for n in names if n != "README.md"}  # earlier runs are not source
    return ignored


def _pip(*args: str, timeout: float = 300) -> None:
    """pip of this environment (the machine's pip configuration, its index and local wheels)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=DEVNULL,
    )
    assert proc.returncode == 0, f"pip {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    pytest.importorskip("build", reason="the `build` package is missing: pip install -e '.[dev]'")
    src = tmp_path_factory.mktemp("src") / "ipctrace"
    shutil.copytree(REPO, src, ignore=_not_source, symlinks=True)  # the build leaves nothing in the tree
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("ipctrace-*.whl")
    (sdist,) = out.glob("ipctrace-*.tar.gz")
    return Built(wheel, sdist)


def _metadata(wheel: Path) -> tuple[dict[str, list[str]], list[str], str]:
    """The wheel's METADATA fields (each a list of values), the names in its archive, the long description."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        text = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    message = Parser().parsestr(text)
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, names, str(message.get_payload())


def _scapy_floor(fields: dict[str, list[str]]) -> str:
    (spec,) = [r for r in fields["Requires-Dist"] if r.startswith("scapy")]
    match = re.fullmatch(r"scapy>=([\d.]+)", spec.replace(" ", ""))
    assert match, f"scapy's requirement should be a plain floor, got {spec!r}"
    return match[1]


@pytest.fixture(scope="session")
def venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with `ipctrace[pytest]` from the wheel and scapy at its declared floor (the oldest allowed)."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    floor = _scapy_floor(_metadata(built.wheel)[0])
    # This environment's pip installs into the new one (--python): no pip of its own to bootstrap.
    _pip("--python", str(root / "bin" / "python"), "install", "-q", f"{built.wheel}[pytest]", f"scapy=={floor}")
    (site,) = (root / "lib").glob("python3*/site-packages")
    return Venv(root, site, floor)


# -- the project of a course that happens to use ipctrace's old names --------------------------------

OWN_TESTS = """
import sys
from pathlib import Path

import reference_programs
import tracer
import tracer.compare

HERE = Path(__file__).resolve().parent


def test_the_projects_own_packages_are_imported():
    assert tracer.WHO == "the project's tracer package"
    assert tracer.compare.WHO == "the project's tracer.compare"
    assert reference_programs.WHO == "the project's reference programs"


def test_nothing_of_ipctrace_is_imported_by_pytest_alone():
    assert sorted(m for m in sys.modules if m.startswith("ipctrace")) == [
        "ipctrace", "ipctrace.compare", "ipctrace.compare.pytest_plugin"
    ]


def test_the_ipctrace_fixture_traces_the_projects_program(ipctrace):
    run = ipctrace.run_command(sys.executable, str(HERE.parent / "app" / "prog.py"), name="prog")
    assert ipctrace.last_run.ok
    out = (ipctrace.last_run.outdir / "main.out").read_text()
    assert out.startswith("the app's own tracer module\\n")
    main = run.process("main")
    assert [c.call for c in main.calls if c.call in ("pipe", "write", "read")] == ["pipe", "write", "read"]
"""

PROG = '''"""A course program with its own module named tracer, and modules it may or may not find."""
import importlib
import os
import sys

import tracer

print(tracer.helper())
for name in ("benchmarks", "ipctrace", "reference_programs", "tracer"):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        print(f"{name}: {type(exc).__name__}: {exc}")
    else:
        print(f"{name}: {getattr(module, 'WHO', module.__file__)}")
print("ipctrace modules:", sorted(m for m in sys.modules if m.startswith("ipctrace")))
print("path:", sys.path)
r, w = os.pipe()
os.write(w, b"x")
print(os.read(r, 1))
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with its own `tracer/` package (with a `compare` module), `app/tracer.py`, `reference_programs/`."""
    root = tmp_path / "course"
    files = {
        "tracer/__init__.py": 'WHO = "the project\'s tracer package"\n',
        "tracer/compare.py": 'WHO = "the project\'s tracer.compare"\n',
        "reference_programs/__init__.py": 'WHO = "the project\'s reference programs"\n',
        "reference_programs/tcp_hello_server.py": 'raise SystemExit("the project\'s own tcp_hello_server ran")\n',
        "_common.py": 'raise SystemExit("the project\'s own _common was imported")\n',
        "app/tracer.py": 'WHO = "app/tracer.py"\n\n\ndef helper():\n    return "the app\'s own tracer module"\n',
        "app/prog.py": PROG,
        "tests/test_own.py": OWN_TESTS,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# -- the wheel and the installed environment ---------------------------------------------------------


@pytest.mark.slow
def test_the_wheel_installs_only_the_package_ipctrace_with_honest_metadata(built: Built, venv: Venv) -> None:
    fields, names, description = _metadata(built.wheel)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"ipctrace", "ipctrace-0.1.0.dist-info"}, tops
    top_level = zipfile.ZipFile(built.wheel).read("ipctrace-0.1.0.dist-info/top_level.txt").decode().split()
    assert top_level == ["ipctrace"]
    for name in GENERIC_NAMES:
        assert not (venv.site_packages / name).exists() and not (venv.site_packages / f"{name}.py").exists()
    for needed in ("ipctrace/py.typed", "ipctrace/record/bootstrap/sitecustomize.py", "ipctrace/__main__.py"):
        assert needed in names
    assert "ipctrace/reference_programs/scenarios/tcp_hello.toml" in names
    assert "ipctrace-0.1.0.dist-info/licenses/LICENSE" in names

    assert fields["License-Expression"] == ["MIT"]
    classifiers = set(fields["Classifier"])
    assert {"Framework :: Pytest", "Operating System :: POSIX :: Linux", "Typing :: Typed"} <= classifiers
    assert any(url.startswith("Source, https://") for url in fields["Project-URL"])
    assert 'pytest>=7; extra == "pytest"' in fields["Requires-Dist"]
    assert not [r for r in fields["Requires-Dist"] if r.startswith("pytest") and "extra" not in r]
    from ipctrace.capture import SCAPY_MINIMUM

    assert _scapy_floor(fields) == ".".join(map(str, SCAPY_MINIMUM)) == venv.scapy
    section = _pip_section(description)
    assert "pip install ipctrace" in section and "ipctrace[pytest]" in section
    assert "scripts/install.sh" not in section  # a wheel has no scripts/
    for debian in ("graphviz", "libpcap0.8", "fonts-nanum", "tcpdump", "strace"):
        assert debian in section


def _pip_section(description: str) -> str:
    """The README's section for pip users, as the package index shows it (the long description)."""
    match = re.search(r"^## Installing from a package index\n(.*?)(?=^## )", description, re.M | re.S)
    assert match, "the README has a section for pip users"
    return match[1]


@pytest.mark.slow
def test_a_project_with_its_own_tracer_runs_its_suite_with_the_plugin(venv: Venv, project: Path) -> None:
    suite = venv.run(venv.python, "-m", "pytest", "-p", "no:cacheprovider", cwd=project)
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    assert re.search(r"^plugins: .*ipctrace-0\.1\.0", suite.stdout, re.M), suite.stdout[:800]
    assert "3 passed" in suite.stdout
    listed = venv.run(venv.bin / "pytest", "--version", "--version", cwd=project)
    assert re.search(r"ipctrace-0\.1\.0 at .*/site-packages/ipctrace/compare/pytest_plugin\.py", listed.stdout)
    helped = venv.run(venv.bin / "pytest", "--help", cwd=project)
    assert "--ipctrace-update" in helped.stdout and "ipctrace golden traces" in helped.stdout


@pytest.mark.slow
def test_ipctrace_run_tcp_hello_in_a_project_with_its_own_reference_programs(venv: Venv, project: Path) -> None:
    run = venv.run(venv.bin / "ipctrace", "run", "tcp_hello", "--port", "0", "--no-capture", cwd=project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    out = project / "output" / "tcp_hello"
    assert "Message from client: Hello from client" in (out / "server.out").read_text()
    assert "Message from server: Hello from server" in (out / "client.out").read_text()
    assert (out / "sequence.svg").stat().st_size > 1000


@pytest.mark.slow
def test_capture_works_with_the_oldest_scapy_allowed(venv: Venv, project: Path) -> None:
    require_capture()
    run = venv.run(venv.bin / "ipctrace", "run", "tcp_hello", "--port", "0", "--no-render", cwd=project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    kept = re.search(r"^packets\s+(\d+) kept of \d+ captured on lo \(scapy", run.stdout, re.M)
    assert kept and int(kept[1]) >= 10, run.stdout[-1500:]  # handshake, two messages and their ACKs, FINs
    assert (project / "output" / "tcp_hello" / "capture.pcap").stat().st_size > 24


@pytest.mark.slow
def test_an_older_scapy_is_named_as_the_reason_capture_is_off(venv: Venv, project: Path, tmp_path: Path) -> None:
    old = tmp_path / "old-scapy"
    _pip("install", "-q", "--no-deps", "--no-compile", "--target", str(old), "scapy==2.6.1")
    run = venv.run(
        venv.bin / "ipctrace", "run", "tcp_hello", "--port", "0", "--no-render", cwd=project, PYTHONPATH=str(old)
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    line = next(x for x in run.stdout.splitlines() if x.startswith("packets"))
    assert line.split(None, 1)[1] == (
        "none: scapy 2.6.1 is too old for packet capture: ipctrace needs scapy 2.7 or newer "
        "(pip install 'scapy>=2.7'), or use --capture tcpdump."
    )


@pytest.mark.slow
def test_a_traced_program_finds_its_own_modules_as_untraced(venv: Venv, project: Path) -> None:
    app = project / "app"
    env = {"PYTHONPATH": str(project)}  # the project's tracer/ and reference_programs/ are importable
    untraced = venv.run("python3", "prog.py", cwd=app, **env)
    assert untraced.returncode == 0, untraced.stderr
    traced = venv.run(venv.python, "-m", "ipctrace", "run", "--no-capture", "--no-render", "--", "python3", "prog.py",
                      cwd=app, **env)  # fmt: skip
    assert traced.returncode == 0, traced.stdout[-3000:] + traced.stderr[-2000:]
    assert (app / "output" / "prog" / "main.out").read_text() == untraced.stdout + untraced.stderr
    lines = untraced.stdout.splitlines()
    assert lines[0] == "the app's own tracer module"
    assert lines[1] == "benchmarks: ModuleNotFoundError: No module named 'benchmarks'"
    assert lines[2] == f"ipctrace: {venv.site_packages / 'ipctrace' / '__init__.py'}"
    assert lines[3:5] == ["reference_programs: the project's reference programs", "tracer: app/tracer.py"]
    assert lines[5] == "ipctrace modules: ['ipctrace']"


@pytest.mark.slow
def test_python_m_ipctrace_is_the_installed_command(venv: Venv, project: Path) -> None:
    _same_as_command([str(venv.bin / "ipctrace")], [str(venv.python), "-m", "ipctrace"], project, venv.env())


# -- the sdist ----------------------------------------------------------------------------------------


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(REPO).as_posix()
        for p in folder.rglob("*")
        if p.is_file()
        and not NOT_SOURCE & set(p.relative_to(REPO).parts)
        and not p.name.endswith(".so")  # the recorder's compiled hot path, built in place by `pip install -e .`
    }


@pytest.mark.slow
def test_the_sdist_holds_what_its_tests_need(built: Built) -> None:
    with tarfile.open(built.sdist) as tar:
        held = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name}
    needed = {"README.md", "LICENSE", "pyproject.toml", "scripts/install.sh", "tests/conftest.py"}
    for folder in ("tests", "benchmarks", "tracer", "reference_programs"):
        needed |= _files(REPO / folder)
    assert {"tests/golden/pipe3.json", "tests/programs/own_module/tracer.py", "benchmarks/run.py"} <= needed
    missing = needed - held
    assert not missing, f"missing from the sdist: {sorted(missing)[:20]}"
    assert not {h for h in held if h.startswith((".venv/", ".git/", ".ci/")) or "__pycache__" in h}
    assert not {h for h in held if h.startswith("output/") and h != "output/README.md"}


# -- the development environment: fast -------------------------------------------------------------


def _same_as_command(command: Sequence[str], module: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
    """`python -m ipctrace ARGS` prints the same and exits the same as `ipctrace ARGS`."""
    cases = [
        ["--version"],
        ["--help"],
        ["list"],
        ["run", "--help"],
        ["run", "no_such_scenario"],
        ["show", "no_such_trace.jsonl"],
        ["run", "--frobnicate"],
    ]
    for args in cases:
        a, b = (
            subprocess.run([*argv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, stdin=DEVNULL)
            for argv in (command, module)
        )
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), args
        assert a.stdout or a.stderr, args
        assert "Traceback" not in a.stderr, args
    assert a.returncode == 2 and "`ipctrace run` has no option '--frobnicate'" in a.stderr


def test_python_m_ipctrace_is_the_command(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("ipctrace")
    assert command.exists(), "the `ipctrace` command is installed next to this Python"
    _same_as_command([str(command)], [sys.executable, "-m", "ipctrace"], tmp_path, dict(os.environ))


def _modules_after(statement: str) -> list[str]:
    probe = (
        "import sys\n"
        f"{statement}\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m == 'ipctrace' or m.startswith('ipctrace.'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, stdin=DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_importing_the_plugin_imports_no_other_ipctrace_module() -> None:
    assert _modules_after("pass") == []
    plugin = ["ipctrace", "ipctrace.compare", "ipctrace.compare.pytest_plugin"]
    assert _modules_after("import ipctrace.compare.pytest_plugin") == plugin
    assert "ipctrace.session" in _modules_after("from ipctrace.compare.pytest_plugin import Ipctrace")
    assert "ipctrace.compare.diff" in _modules_after("from ipctrace.compare import diff_traces")


INNER_TESTS = """
import sys

PLUGIN = ["ipctrace", "ipctrace.compare", "ipctrace.compare.pytest_plugin"]


def ipctrace_modules():
    return sorted(m for m in sys.modules if m.startswith("ipctrace"))


def test_a_1_before_any_fixture():
    assert ipctrace_modules() == PLUGIN


def test_a_2_failing_comparison_of_its_own():
    assert [1, 2] == [1, 3]


def test_a_3_still_nothing_imported():
    assert ipctrace_modules() == PLUGIN


def test_b_the_fixture_imports_what_it_needs(ipctrace):
    assert "ipctrace.session" in ipctrace_modules() and "ipctrace.compare.fixture" in ipctrace_modules()
"""


def _inner_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=DEVNULL,
    )


def test_pytest_in_an_unrelated_project_imports_ipctrace_only_when_a_test_asks(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    result = _inner_pytest(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert re.search(r"^plugins: .*ipctrace-", result.stdout, re.M)
    assert "1 failed, 3 passed" in result.stdout, result.stdout[-3000:]
    assert "FAILED test_inner.py::test_a_2_failing_comparison_of_its_own" in result.stdout


def test_an_ipctrace_option_is_checked_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(
        "import sys\n\n\ndef test_x():\n    assert 'ipctrace.session' in sys.modules\n"
    )
    good = _inner_pytest(tmp_path, "--ipctrace-ignore", "sleeps,output")
    assert good.returncode == 0, good.stdout[-2000:]
    bad = _inner_pytest(tmp_path, "--ipctrace-ignore", "colours")
    assert bad.returncode == 4, bad.stdout[-2000:] + bad.stderr[-2000:]
    assert "ERROR: --ipctrace-ignore: cannot ignore 'colours'; choose among: packets" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout


def test_the_plugins_spelled_out_choices_are_ipctraces() -> None:
    from ipctrace.capture import BACKENDS
    from ipctrace.compare import IGNORABLE
    from ipctrace.compare.pytest_plugin import CAPTURE_CHOICES, IGNORABLE_NAMES

    assert CAPTURE_CHOICES == ("none", *BACKENDS)
    assert IGNORABLE_NAMES == tuple(IGNORABLE)
