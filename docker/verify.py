"""Import check: imports each module from the package tree, as Lambda would at init.

Runs on the target interpreter (the Lambda image's Python, or the host's when its X.Y matches
the runtime), from read-only roots, with bytecode writing off. Prints one JSON object per module.

Usage: python verify.py --root DIR [--root DIR ...] [--fallback DIR ...] [--module NAME ...]
                        [--handler module.function]
The roots go first on sys.path, in order, as /var/task does on Lambda. The fallbacks go after
everything else, in order, as the layers (/opt/python) and the runtime's own packages do.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback


def describe(error: BaseException) -> dict:
    """The exception's one-line summary plus what pyslim needs to find a pruned cause."""
    info = {"error": f"{type(error).__name__}: {error}".strip()}
    name = getattr(error, "name", None)
    if isinstance(name, str):
        info["missing"] = name
    filename = getattr(error, "filename", None) or getattr(error, "path", None)
    if isinstance(filename, str):
        info["filename"] = filename
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        info["where"] = f"{frames[-1].filename}:{frames[-1].lineno}"
    return info


def check(module: str, attribute: str | None = None) -> dict:
    started = time.perf_counter()
    result = {"module": module}
    try:
        imported = importlib.import_module(module)
        if attribute is not None and not callable(getattr(imported, attribute, None)):
            result.update(ok=False, error=f"AttributeError: module '{module}' has no function '{attribute}'")
        else:
            result["ok"] = True
    except BaseException as error:  # SystemExit and KeyboardInterrupt at import time are failures too
        result.update(ok=False, **describe(error))
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", action="append", default=[])
    parser.add_argument("--module", action="append", default=[])
    parser.add_argument("--fallback", action="append", default=[])
    parser.add_argument("--handler")
    args = parser.parse_args()
    sys.dont_write_bytecode = True
    sys.path[:0] = args.root
    sys.path.extend(args.fallback)
    results = []
    if args.handler:
        module, _, function = args.handler.rpartition(".")
        results.append({**check(module, function), "handler": True})
    results.extend(check(module) for module in args.module)
    for result in results:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
