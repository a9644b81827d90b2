#!/bin/bash
# Runs one integration test file against the proxy binary.
# Usage: run_test.sh NAME PATH_TO_INTERPOSE  (cwd: the runfiles workspace root)
set -euo pipefail
name="$1"
interpose="$2"
# Prefer the system python3 (Debian's httpx lives there); any python3 >= 3.8 works.
py=python3
if [[ -x /usr/bin/python3 ]]; then py=/usr/bin/python3; fi
exec "$py" "test/integration/${name}_test.py" --interpose "$interpose"
