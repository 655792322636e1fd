#!/usr/bin/env bash
# Builds pullsmith from the action's own source with `cargo install
# --locked`, when there is no release binary to use: PULLSMITH_BUILD_REASON
# says why (action/install.sh sets it, or its output `build` in action.yml).
# Skips cargo when ~/.cargo/bin/pullsmith (restored by actions/cache, keyed
# on the sources) already has the source's version. With no reason, the
# install step found a binary: its PULLSMITH_INSTALLED_BIN is passed on.
# Sets the output `bin` either way.
set -euo pipefail

root="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
out="${GITHUB_OUTPUT:-/dev/null}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
reason="${PULLSMITH_BUILD_REASON:-}"
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
# shellcheck source=action/common.bash
. "$root/action/common.bash"

if [ -z "$reason" ]; then
    installed="${PULLSMITH_INSTALLED_BIN:-}"
    if [ -z "$installed" ]; then
        echo "::error title=pullsmith::the install step gave neither a binary nor a reason to build one"
        exit 1
    fi
    echo "bin=$installed" >> "$out"
    exit 0
fi

started="$(now)"
want="$(source_version "$root")"
bin="$cargo_bin/pullsmith"
if [ -x "$bin" ] && [ "$(version_of "$bin")" = "$want" ]; then
    echo "pullsmith $want, built from this source before, is at $bin; skipping cargo install"
    how="built from source earlier, restored from the cache"
else
    if ! command -v cargo >/dev/null 2>&1; then
        echo "::error title=pullsmith::$reason, and cargo is not installed to build it: add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before this action"
        exit 1
    fi
    echo "cargo install --locked --force --root ${cargo_bin%/bin} --path $root"
    cargo install --locked --force --root "${cargo_bin%/bin}" --path "$root"
    how="built from source with cargo install --locked"
fi

if [ -n "${GITHUB_PATH:-}" ]; then
    dirname "$bin" >> "$GITHUB_PATH"
fi
echo "bin=$bin" >> "$out"
printf 'pullsmith %s: %s, %s (%s)\n\n' "$want" "$how" "$(elapsed_since "$started")" "$reason" >> "$summary"
"$bin" --version
