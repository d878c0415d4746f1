"""Start-up hook: with this folder on PYTHONPATH, every Python process ipctrace starts is traced.

It runs before the program's own code, in every Python child the program
starts too (they inherit the environment). It never stops a program from
running: if recording cannot start, the program runs untraced and says so on
stderr. Another `sitecustomize` further down the path still runs.
"""

import os
import sys


def _start_ipctrace() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    sys.path.insert(0, root)
    try:
        from tracer.record import start_from_environment

        start_from_environment()
    except Exception as exc:  # the program must run even if the recorder cannot
        sys.stderr.write(f"ipctrace: this process runs untraced: the recorder failed to start ({exc}).\n")
    finally:
        try:
            sys.path.remove(root)
        except ValueError:
            pass
        # The recorder keeps its own references; the name `tracer` is the program's to use (its own tracer.py).
        for name in [m for m in sys.modules if m == "tracer" or m.startswith("tracer.")]:
            del sys.modules[name]
    _run_next_sitecustomize(here)


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
