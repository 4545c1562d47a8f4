#!/usr/bin/env bash
# Copies the reference test vectors from ../shared/spec/vectors into tests/vectors, so the
# project's tests read them from the repository. Run it when the shared reference changes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source_dir=${1:-"$here/../shared/spec/vectors"}
[ -d "$source_dir" ] || { echo "no vectors at $source_dir" >&2; exit 1; }
rm -rf "$here/tests/vectors"
mkdir -p "$here/tests/vectors"
cp -R "$source_dir"/. "$here/tests/vectors/"
echo "synced $(find "$here/tests/vectors" -name '*.json' | wc -l) vector files from $source_dir"
