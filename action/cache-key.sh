#!/usr/bin/env bash
# Cache keys for action.yml (hashFiles() cannot read the action's own files):
#   registry  crate downloads, keyed on the action's Cargo.lock
#   binary    the installed pullsmith, keyed on everything that builds it
set -euo pipefail

root="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
out="${GITHUB_OUTPUT:-/dev/stdout}"
platform="${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}"

digest() { sha256sum | cut -c1-20; }

lock_hash="$(digest < "$root/Cargo.lock")"
source_hash="$(
    cd "$root"
    find Cargo.lock Cargo.toml src rules -type f -print0 2>/dev/null \
        | LC_ALL=C sort -z | xargs -0 sha256sum | digest
)"
version="$(sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)"

{
    echo "registry-prefix=pullsmith-cargo-$platform-"
    echo "registry=pullsmith-cargo-$platform-$lock_hash"
    echo "binary=pullsmith-bin-$platform-$version-$source_hash"
} >> "$out"
echo "pullsmith cache keys: registry $lock_hash, binary $version-$source_hash"
