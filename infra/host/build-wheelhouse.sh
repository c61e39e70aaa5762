#!/usr/bin/env bash
# build-wheelhouse.sh [x86_64|aarch64]: download every wheel the host needs into dist/wheelhouse.
#
# The host (Amazon Linux 2023, CPython 3.11) has no internet route in the default setup (VPC
# endpoints, no NAT), so `pulumi up` ships these wheels inside the code bundle and the host
# installs with `pip --no-index`. Run it before `pulumi up` whenever dependencies change; pick
# aarch64 for Graviton instance types (t4g, m7g, ...).
set -euo pipefail

arch=${1:-x86_64}
case $arch in
x86_64 | aarch64) ;;
*)
    echo "usage: $0 [x86_64|aarch64]" >&2
    exit 2
    ;;
esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${WHEELHOUSE:-$root/dist/wheelhouse}
python=${PYTHON:-python3}

# The project's runtime dependencies, its aws extra and its build backend, from pyproject.toml.
mapfile -t requirements < <("$python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib

with open(sys.argv[1], "rb") as handle:
    data = tomllib.load(handle)
project = data["project"]
for line in project["dependencies"] + project["optional-dependencies"]["aws"]:
    print(line)
for line in data["build-system"]["requires"]:
    print(line)
PY
)

rm -rf "$out"
mkdir -p "$out"
platforms=()
for glibc in 2_34 2_28 2_17; do
    platforms+=(--platform "manylinux_${glibc}_${arch}")
done
"$python" -m pip download --quiet --dest "$out" --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    "${platforms[@]}" --platform manylinux2014_"$arch" \
    "${requirements[@]}"
ls "$out" >&2
echo "wheelhouse: $(find "$out" -name '*.whl' | wc -l) wheels in $out" >&2
