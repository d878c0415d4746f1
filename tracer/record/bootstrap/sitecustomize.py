"""Start-up hook: with this folder on PYTHONPATH, every Python process ipctrace starts is traced.

It runs before the program's own code, in every Python child the program
starts too (they inherit the environment). It never stops a program from
running: if recording cannot start, the program runs untraced and says so on
stderr. Another `sitecustomize` further down the path still runs.

The program must see the same `sys.path` and `sys.modules` as untraced: the
recorder is loaded straight from its files (whatever Python runs the
program, ipctrace installed in it or not), this folder leaves `sys.path`, and
the names `ipctrace` and `ipctrace.*` leave `sys.modules` once the wrappers
are installed (they keep their own references). A program's own `ipctrace`,
`tracer` or `benchmarks` module is found as it would be untraced.
"""

import os
import sys


def _start_ipctrace() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    package_dir = os.path.dirname(os.path.dirname(here))  # .../ipctrace (tracer/ in the repository)
    had = {name: mod for name, mod in sys.modules.items() if name == "ipctrace" or name.startswith("ipctrace.")}
    try:
        _load_package(package_dir)
        from ipctrace.record import start_from_environment

        start_from_environment()
    except Exception as exc:  # the program must run even if the recorder cannot
        sys.stderr.write(f"ipctrace: this process runs untraced: the recorder failed to start ({exc}).\n")
    finally:
        for name in [m for m in sys.modules if m == "ipctrace" or m.startswith("ipctrace.")]:
            del sys.modules[name]
        sys.modules.update(had)
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    _run_next_sitecustomize(here)


def _load_package(package_dir: str) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ipctrace", os.path.join(package_dir, "__init__.py"), submodule_search_locations=[package_dir]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"no ipctrace package in {package_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ipctrace"] = module
    spec.loader.exec_module(module)


def _run_next_sitecustomize(here: str) -> None:
    import importlib.machinery
    import importlib.util

    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.stderr.write(f"ipctrace: the site's own sitecustomize failed: {exc}\n")


_start_ipctrace()
