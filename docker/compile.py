"""Compiles every .py under a root with the target runtime's interpreter, reproducibly.

The .pyc files use PEP 552 unchecked-hash validation: a reproducible zip gives every entry the
same fixed date, so timestamp-checked .pyc would arrive stale, and Python would reject and
recompile them on every cold start. Each code object records the path it will have on Lambda
(`--prefix`, e.g. /var/task), not the build folder's, so the bytes do not depend on where the
build ran. The caller sets PYTHONHASHSEED=0 so that set constants marshal in a stable order.

Usage: python compile.py --root DIR --prefix /var/task [--legacy] [--keep-source DIR ...]
  --legacy          write sourceless bytecode (foo.pyc beside foo.py) instead of __pycache__
  --keep-source D   under --legacy, files below the relative folder D get __pycache__ bytecode
                    (their sources stay)
Prints one JSON object: {"compiled": [relative .pyc paths], "failed": [{"file", "error"}]}.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import multiprocessing
import py_compile

# Below this many files, starting worker processes costs more than it saves.
PARALLEL_FROM = 200


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _compile_one(job):
    source, root, prefix, legacy_mode, keep = job
    relative = os.path.relpath(source, root).replace(os.sep, "/")
    legacy = legacy_mode and not relative.startswith(keep)
    target = source + "c" if legacy else importlib.util.cache_from_source(source)
    try:
        py_compile.compile(
            source,
            cfile=target,
            dfile=f"{prefix.rstrip('/')}/{relative}",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except (py_compile.PyCompileError, SyntaxError, ValueError, UnicodeDecodeError) as error:
        # A file Python cannot compile cannot be imported either; it ships as it is.
        return ("failed", {"file": relative, "error": str(error).strip().splitlines()[-1][:300]})
    return ("ok", os.path.relpath(target, root).replace(os.sep, "/"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--keep-source", action="append", default=[])
    args = parser.parse_args()

    sources = []
    for folder, dirs, files in os.walk(args.root):
        dirs.sort()
        sources.extend(os.path.join(folder, name) for name in sorted(files) if name.endswith(".py"))
    keep = tuple(prefix.rstrip("/") + "/" for prefix in args.keep_source)

    jobs = [(source, args.root, args.prefix, args.legacy, keep) for source in sources]
    workers = _cores()
    if workers > 1 and len(jobs) >= PARALLEL_FROM:
        # All cores: each file compiles on its own, and map keeps the order, so the output
        # (and every .pyc's bytes) is the same as one process would give.
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_compile_one, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
    else:
        results = [_compile_one(job) for job in jobs]
    compiled = [r[1] for r in results if r[0] == "ok"]
    failed = [r[1] for r in results if r[0] == "failed"]
    print(json.dumps({"compiled": compiled, "failed": failed}))


if __name__ == "__main__":
    main()
