#!/bin/sh
# Runs one of pyslim's Python scripts with the image's interpreter (/var/lang/bin in the Lambda
# images, PATH otherwise): bytecode compilation and import checks for the target runtime.
#   python.sh <script> [args...]
for python in /var/lang/bin/python3 python3 python; do
  if command -v "$python" >/dev/null 2>&1; then
    exec "$python" "$@"
  fi
done
echo "pyslim: no python3 in this image" >&2
exit 127
