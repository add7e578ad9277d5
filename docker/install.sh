#!/bin/sh
# Runs inside the Lambda image: installs the requirements into the mounted output folder with
# the image's own Python and pip, so wheels (and sdists built from source) match Lambda exactly.
#   install.sh <requirements file> <output folder> [more pip arguments...]
# pyslim passes the index configuration as PIP_* variables. The exit code is pip's.
set -eu
requirements="$1"
target="$2"
shift 2
for python in /var/lang/bin/python3 python3 python; do
  if command -v "$python" >/dev/null 2>&1; then
    # pyslim reads this marker to tell a failure of pip from a failure of the engine.
    echo "pyslim-install: running pip with $("$python" -c 'import sys; print(sys.executable, "%d.%d" % sys.version_info[:2])')" >&2
    # To record what the resolution reads, pip runs through pyslim's wrapper, with no marker
    # values to override ('{}'): this is the runtime's own Python.
    if [ -n "${PYSLIM_PIP_SOURCES:-}" ]; then pip_a="$(dirname "$0")/pip_for_target.py" pip_b='{}'; else pip_a=-m pip_b=pip; fi
    exec "$python" "$pip_a" "$pip_b" install --target "$target" --no-compile --disable-pip-version-check \
      --no-input --progress-bar off -r "$requirements" "$@"
  fi
done
echo "pyslim-install: no python3 in this image" >&2
exit 127
