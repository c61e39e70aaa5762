#!/usr/bin/env bash
# build-wheelhouse.sh [x86_64|aarch64]: download every wheel the host needs into dist/wheelhouse.
#
# The host (Amazon Linux 2023, CPython 3.11) has no internet route in the default setup (VPC
# endpoints, no NAT), so `pulumi up` ships these wheels inside the code bundle and the host
# installs with `pip --no-index`. Run it before `pulumi up` whenever dependencies change; pick
# aarch64 for Graviton instance types (t4g, m7g, ...).
#
# Any Python 3.11+ can build it: pip resolves markers for the Python that runs it, so
# infra/wheelhouse.py then adds what the host's CPython 3.11 needs on top (typing-extensions
# when built with 3.13+) and checks every wheel's tags; `pulumi up` checks again and refuses a
# wheelhouse with problems.
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
download() {
    "$python" -m pip download --quiet --dest "$out" --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
        "${platforms[@]}" --platform manylinux2014_"$arch" "$@"
}
download "${requirements[@]}"
# What the host's Python needs that pip left out (markers evaluated for the builder's Python).
for _ in 1 2 3 4 5; do
    mapfile -t missing < <("$python" "$root/infra/wheelhouse.py" missing --arch "$arch" "$out" "$root/pyproject.toml")
    ((${#missing[@]} == 0)) && break
    echo "adding for the host's CPython 3.11: ${missing[*]}" >&2
    download --no-deps "${missing[@]}"
done
ls "$out" >&2
"$python" "$root/infra/wheelhouse.py" check --arch "$arch" "$out" "$root/pyproject.toml"
echo "wheelhouse: $(find "$out" -name '*.whl' | wc -l) wheels in $out" >&2
