#!/usr/bin/env bash
# Installs pullsmith from the action's own source, unless the pullsmith on
# PATH (a self-hosted runner's, or the one actions/cache restored) already has
# the version of the action's Cargo.toml. Sets the output `bin`.
set -euo pipefail

root="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
out="${GITHUB_OUTPUT:-/dev/null}"
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
want="$(sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)"

version_of() { "$1" --version 2>/dev/null | awk '$1 == "pullsmith" { print $2; exit }'; }

found=""
if command -v pullsmith >/dev/null 2>&1; then
    found="$(command -v pullsmith)"
elif [ -x "$cargo_bin/pullsmith" ]; then
    found="$cargo_bin/pullsmith"
fi

if [ -n "$found" ] && [ "$(version_of "$found")" = "$want" ]; then
    echo "pullsmith $want is already installed at $found; skipping cargo install"
    bin="$found"
else
    if [ -n "$found" ]; then
        echo "pullsmith at $found is version '$(version_of "$found")', the action wants $want"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "::error title=pullsmith::cargo is not installed; add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before this action"
        exit 1
    fi
    echo "cargo install --locked --force --root ${cargo_bin%/bin} --path $root"
    cargo install --locked --force --root "${cargo_bin%/bin}" --path "$root"
    bin="$cargo_bin/pullsmith"
fi

# Later steps of the job find it on PATH too.
if [ -n "${GITHUB_PATH:-}" ]; then
    dirname "$bin" >> "$GITHUB_PATH"
fi
echo "bin=$bin" >> "$out"
"$bin" --version
