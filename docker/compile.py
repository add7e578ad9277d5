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
import py_compile


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

    compiled, failed = [], []
    for source in sources:
        relative = os.path.relpath(source, args.root).replace(os.sep, "/")
        legacy = args.legacy and not relative.startswith(keep)
        target = source + "c" if legacy else importlib.util.cache_from_source(source)
        try:
            py_compile.compile(
                source,
                cfile=target,
                dfile=f"{args.prefix.rstrip('/')}/{relative}",
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except (py_compile.PyCompileError, SyntaxError, ValueError, UnicodeDecodeError) as error:
            # A file Python cannot compile cannot be imported either; it ships as it is.
            failed.append({"file": relative, "error": str(error).strip().splitlines()[-1][:300]})
            continue
        compiled.append(os.path.relpath(target, args.root).replace(os.sep, "/"))
    print(json.dumps({"compiled": compiled, "failed": failed}))


if __name__ == "__main__":
    main()
