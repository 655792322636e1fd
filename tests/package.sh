#!/usr/bin/env bash
# The crate as crates.io would get it. Checks:
#   a. `cargo package --list`: everything building needs (src/, rules/ that
#      src/ include_str!s, build.rs, Cargo.lock) and the README, LICENSE and
#      CHANGELOG.md; nothing of tests/ (fixtures), examples/, benches/, docs/,
#      action/, .ci/ or .ci-cache/
#   b. `cargo publish --dry-run`: packages the crate and builds it from the
#      unpacked .crate, as `cargo install pullsmith` will. It needs crates.io's
#      index; `bash tests/package.sh --offline` runs `cargo package --offline`
#      instead (the same packaging and build, without the registry).
#   c. that build, which has no .git, prints `pullsmith <version>` and no
#      commit; with PULLSMITH_BUILD_COMMIT and PULLSMITH_BUILD_DATE (what a
#      distribution's packager sets) it prints them
# Ends with `package: N passed, M failed`; exits 1 when any failed.
set -euo pipefail
# shellcheck source=tests/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

offline=false
case "${1:-}" in
    --offline) offline=true ;;
    "") ;;
    *)
        echo "usage: bash tests/package.sh [--offline]" >&2
        exit 2
        ;;
esac

# A target directory of its own, always: cargo gives the build of the unpacked
# package the same artifact names as the checkout's (same package, same
# relative paths), so in `cargo test`'s target directory it would replace the
# tests' binary with one that has no commit in `--version`. Kept between runs:
# only pullsmith itself is compiled again.
export CARGO_TARGET_DIR="$root/.ci-cache/package-target"
export CARGO_TERM_COLOR=never
mkdir -p "$CARGO_TARGET_DIR"
version="$(sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)"
unpacked="$CARGO_TARGET_DIR/package/pullsmith-$version"
bin="$CARGO_TARGET_DIR/debug/pullsmith"


# ---------------------------------------------------------------------------
step "a. cargo package --list"
set +e
(
    set -e
    list="$(cargo package --list --allow-dirty --offline 2>/dev/null)"
    status=0
    for wanted in Cargo.toml Cargo.lock build.rs src/main.rs src/lib.rs README.md LICENSE CHANGELOG.md; do
        grep -qx "$wanted" <<< "$list" || { echo "missing: $wanted"; status=1; }
    done
    # Every file src/ embeds must be in the package, or it does not build.
    # The paths are relative to the file that names them.
    embedded="$(grep -roE 'include_(str|bytes)!\("[^"]+"\)' src | sed -E 's/^([^:]+):.*\("([^"]+)"\)$/\1 \2/')"
    [ -n "$embedded" ] || { echo "found no include_str! in src/ (the probe is broken)"; status=1; }
    while read -r file relative; do
        path="$(realpath -m --relative-to="$root" "$(dirname "$file")/$relative")"
        grep -qx "$path" <<< "$list" || { echo "embedded by $file but not packaged: $path"; status=1; }
    done <<< "$embedded"
    unwanted="$(grep -E '^(tests|examples|benches|docs|action|target|\.ci|\.ci-cache)/|(^|/)fixtures/' <<< "$list" || true)"
    if [ -n "$unwanted" ]; then
        echo "packaged but not needed:"
        while read -r line; do echo "  $line"; done <<< "$unwanted"
        status=1
    fi
    echo "$(wc -l <<< "$list") files"
    exit "$status"
)
result "the package holds what building needs and no tests or fixtures" $?
set -e

# ---------------------------------------------------------------------------
if $offline; then
    step "b. cargo package --offline (packages and builds the .crate)"
    set +e
    cargo package --allow-dirty --offline
    status=$?
    set -e
else
    step "b. cargo publish --dry-run (packages and builds the .crate)"
    set +e
    cargo publish --dry-run --allow-dirty
    status=$?
    set -e
fi
result "the packaged crate builds" "$status"

# ---------------------------------------------------------------------------
step "c. --version of the packaged build"
set +e
(
    set -e
    [ "$status" -eq 0 ] || { echo "not built (b failed)"; exit 1; }
    out="$("$bin" --version)"
    echo "$out"
    [ "$out" = "pullsmith $version" ] || { echo "want exactly: pullsmith $version (no .git, so no commit)"; exit 1; }
    "$bin" man | grep -q '^\.TH' || { echo "pullsmith man prints no page"; exit 1; }
    "$bin" completions bash | grep -q 'complete .*pullsmith' || { echo "no bash completion"; exit 1; }
    # As a distribution builds a release tarball: the commit comes from its packager.
    (
        cd "$unpacked"
        PULLSMITH_BUILD_COMMIT=0123456789ab PULLSMITH_BUILD_DATE=2026-12-01 cargo build --quiet --offline --locked
    )
    out="$("$bin" --version)"
    echo "$out"
    [ "$out" = "pullsmith $version (0123456789ab 2026-12-01)" ] || { echo "PULLSMITH_BUILD_COMMIT is not shown"; exit 1; }
)
result "a build without .git prints the plain version, a packager's commit when given" $?
set -e

finish package
