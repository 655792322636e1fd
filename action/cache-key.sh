#!/usr/bin/env bash
# Cache keys for action.yml (hashFiles() cannot read the action's own files):
#   release, release-dir  the release binary, keyed on the wanted version
#                         (PULLSMITH_VERSION, else the action's Cargo.toml)
#                         and the runner's target; both empty when the
#                         release has no binary for this runner, or when
#                         PULLSMITH_VERSION is `source`
#   registry              crate downloads, keyed on the action's Cargo.lock
#   binary                the pullsmith that `cargo install` builds from the
#                         action's source, keyed on everything that builds it
# The last two are only used when there is no release binary (build.sh).
set -euo pipefail

root="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
out="${GITHUB_OUTPUT:-/dev/stdout}"
platform="${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}"
# shellcheck source=action/common.bash
. "$root/action/common.bash"

digest() { sha256sum | cut -c1-20; }

lock_hash="$(digest < "$root/Cargo.lock")"
source_hash="$(
    cd "$root"
    find Cargo.lock Cargo.toml build.rs src rules -type f -print0 2>/dev/null \
        | LC_ALL=C sort -z | xargs -0 sha256sum | digest
)"
version="$(source_version "$root")"
set_wanted_version "$root"
target="$(release_target)"
release=""
release_dir=""
if [ -n "$target" ] && [ "$from_source" = false ]; then
    release="pullsmith-release-$want-$target"
    release_dir="$(release_dir "$want" "$target")"
fi

{
    echo "release=$release"
    echo "release-dir=$release_dir"
    echo "registry-prefix=pullsmith-cargo-$platform-"
    echo "registry=pullsmith-cargo-$platform-$lock_hash"
    echo "binary=pullsmith-bin-$platform-$version-$source_hash"
} >> "$out"
echo "pullsmith cache keys: release ${release:-(none)}, registry $lock_hash, binary $version-$source_hash"
