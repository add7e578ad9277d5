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
    if [ -n "${PYSLIM_PIP_SOURCES:-}" ]; then
      # Through pyslim's wrapper, which records what the resolution reads. No marker values are
      # overridden ('{}'): this is the runtime's own Python.
      exec "$python" "$(dirname "$0")/pip_for_target.py" '{}' install --target "$target" --no-compile \
        --disable-pip-version-check --no-input --progress-bar off -r "$requirements" "$@"
    fi
    exec "$python" -m pip install --target "$target" --no-compile --disable-pip-version-check \
      --no-input --progress-bar off -r "$requirements" "$@"
  fi
done
echo "pyslim-install: no python3 in this image" >&2
exit 127
