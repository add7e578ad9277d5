"""Init-time profile: what importing the handler costs, module by module.

Runs the handler's import in fresh interpreters (`-X importtime`, bytecode writing off, roots
first on sys.path as /var/task is on Lambda), several times, and reads each module's self time
and the file it came from. It also reads the handler's source to find module-level imports that
only some code paths use: those can be deferred into the branch that needs them.

Usage: python importtime.py --root DIR [--root DIR ...] [--fallback DIR ...] --handler module.function
                            [--runs N] [--isolated]
Prints one JSON object: {"runs": [{"wallMs", "modules": [{"name", "selfUs", "file"}]}],
                         "deferrable": [{"module", "names", "usage"}]}
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
roots, fallbacks, module = json.loads(sys.argv[1])
sys.dont_write_bytecode = True
sys.path[:0] = roots
sys.path.extend(fallbacks)
before = set(sys.modules)
print("PYSLIM-IMPORT-START", file=sys.stderr, flush=True)
started = time.perf_counter()
__import__(module)
wall = (time.perf_counter() - started) * 1000
print("PYSLIM-IMPORT-END", file=sys.stderr, flush=True)
files = {}
for name in set(sys.modules) - before:
    files[name] = getattr(sys.modules[name], "__file__", None)
print(json.dumps({"wallMs": wall, "files": files}))
"""


def run_once(roots: list[str], fallbacks: list[str], module: str, isolated: bool) -> dict:
    flags = ["-I", "-S"] if isolated else []
    done = subprocess.run(
        [sys.executable, *flags, "-X", "importtime", "-c", CHILD, json.dumps([roots, fallbacks, module])],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if done.returncode != 0:
        raise SystemExit(f"importing {module} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    timing = done.stderr.split("PYSLIM-IMPORT-START", 1)[1].split("PYSLIM-IMPORT-END", 1)[0]
    modules = []
    for line in timing.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line[len("import time:") :].split("|", 2))
        modules.append({"name": name, "selfUs": int(self_us), "file": result["files"].get(name)})
    return {"wallMs": result["wallMs"], "modules": modules}


# For each statement or expression that runs only on some paths, the fields that always run.
ALWAYS_RUN = {ast.If: ("test",), ast.While: ("test",), ast.For: ("target", "iter"), ast.AsyncFor: ("target", "iter"),
              ast.IfExp: ("test",), ast.Try: ("body", "finalbody")}
if sys.version_info >= (3, 10):
    ALWAYS_RUN[ast.Match] = ("subject",)


def usage_of_imports(source: str) -> list[dict]:
    """Module-level imports and where their names are used: at init, on every call, or only in some branches."""
    tree = ast.parse(source)
    imported: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported[(alias.asname or alias.name).split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                imported[alias.asname or alias.name] = node.module
    usage: dict[str, str] = {name: "unused" for name in imported}
    rank = {"unused": 0, "some-paths": 1, "every-call": 2, "init": 3}

    def visit(node: ast.AST, in_function: bool, conditional: bool) -> None:
        if isinstance(node, ast.Name) and node.id in usage:
            seen = "init" if not in_function else ("some-paths" if conditional else "every-call")
            if rank[seen] > rank[usage[node.id]]:
                usage[node.id] = seen
        always = ALWAYS_RUN.get(type(node))
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            branch = in_function and always is not None and field not in always
            for child in children:
                if not isinstance(child, ast.AST):
                    continue
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    for part in ast.iter_child_nodes(child):
                        visit(part, True, False)
                elif isinstance(child, (ast.Import, ast.ImportFrom)) and not in_function:
                    continue
                else:
                    visit(child, in_function, conditional or branch)

    visit(tree, False, False)
    by_module: dict[str, dict] = {}
    for name, module in imported.items():
        entry = by_module.setdefault(module, {"module": module, "names": [], "usage": "unused"})
        entry["names"].append(name)
        if rank[usage[name]] > rank[entry["usage"]]:
            entry["usage"] = usage[name]
    return [entry for entry in by_module.values() if entry["usage"] in ("some-paths", "unused")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", action="append", default=[])
    parser.add_argument("--fallback", action="append", default=[])
    parser.add_argument("--handler", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--isolated", action="store_true")
    args = parser.parse_args()
    module = args.handler.rpartition(".")[0]
    runs = [run_once(args.root, args.fallback, module, args.isolated) for _ in range(args.runs)]

    deferrable = []
    sys.path[:0] = args.root
    spec = importlib.util.find_spec(module)
    if spec and spec.origin and spec.origin.endswith(".py"):
        with open(spec.origin, encoding="utf-8") as handle:
            deferrable = usage_of_imports(handle.read())
    print(json.dumps({"runs": runs, "deferrable": deferrable}))


if __name__ == "__main__":
    main()
