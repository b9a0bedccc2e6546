"""Is sim being called from a script's top level without ``if __name__ == "__main__":``?

Worker processes started with ``spawn`` or ``forkserver`` (what the process
executor and a Dask LocalCluster use) import the main script again. A plain
script such as::

    import sim
    run = sim.run("scenario.yaml", replicates=5000)

has no ``if __name__ == "__main__":`` guard, so every worker would run the
script, and start a run of its own, again: the pool breaks. The runner asks
:func:`unguarded_main_call` and then runs the replicates in its own process
instead, with a one-line note (results are identical whatever the executor).

The check reads the main script's source: the line of its top level that is
running now (the call to sim, or to a function that calls sim) must lie inside
an ``if __name__ == "__main__":`` block.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

NOTE = ("note: this script calls sim outside an 'if __name__ == \"__main__\":' block, so "
        "worker processes would run the script again; the replicates run in this process "
        "instead (same results; put the script's code under that guard to use all cores)")


def _guard_lines(tree: ast.Module) -> list[tuple[int, int]]:
    """Line ranges of the top-level ``if __name__ == "__main__":`` blocks."""
    out = []
    for node in tree.body:
        if not isinstance(node, ast.If):
            continue
        t = node.test
        if (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq)
                and {_name(t.left), _name(t.comparators[0])} == {"__name__", "'__main__'"}):
            out.append((node.lineno, node.end_lineno or node.lineno))
    return out


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return repr(node.value)
    return None


def unguarded_main_call() -> bool:
    """True when the main module is a script file whose top level, outside an
    ``if __name__ == "__main__":`` block, is what is running now."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path:
        return False
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name.endswith(".__main__"):
        return False    # python -m package: multiprocessing never re-runs a package's __main__
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            break
        frame = frame.f_back
    if frame is None:
        return False
    line = frame.f_lineno
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return False
    return not any(a <= line <= b for a, b in _guard_lines(tree))
