"""Strips debug symbols from shared objects with the image's own binutils (matching its arch).

Usage: python strip.py <debug|unneeded> <root> <relative path> [...]
Writes <path>.pyslim-stripped beside each file; pyslim checks each result before using it.
Never a full strip: that has corrupted extensions for other tools' users. Exits 3 when the image
has no strip.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys


def main() -> None:
    mode, root, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    strip = shutil.which("strip")
    if strip is None:
        print("no strip in this image", file=sys.stderr)
        sys.exit(3)
    flag = {"debug": "--strip-debug", "unneeded": "--strip-unneeded"}[mode]
    for relative in files:
        source = os.path.join(root, relative)
        done = subprocess.run([strip, flag, "-o", source + ".pyslim-stripped", source], capture_output=True, text=True)
        print(json.dumps({"file": relative, "ok": done.returncode == 0, "error": done.stderr.strip()}), flush=True)


if __name__ == "__main__":
    main()
