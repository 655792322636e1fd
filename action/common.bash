# Sourced by action/cache-key.sh, install.sh and build.sh (never run on its
# own): which pullsmith the action wants, which release binary fits the
# runner, and where that binary is kept. The cache step of action.yml and the
# install step must agree on the last two, so they are written once, here.
# It reads the environment only and writes nothing.

# The version in the action's own Cargo.toml: what `cargo install --path`
# of the action builds, and the version a tag of the action stands for.
source_version() {
    sed -n 's/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$1/Cargo.toml" | head -n 1
}

# Sets `want`, the version to install: PULLSMITH_VERSION (the `version`
# input; a leading `v` is allowed) or else the source's, and `from_source`:
# true when PULLSMITH_VERSION is `source`, which asks for a build of the
# action's own source whatever has been released (pullsmith's own CI runs
# `uses: ./` so, to test its sources rather than the last release). Refused
# unless it looks like a semantic version, since it becomes part of a URL and
# of a directory name.
# shellcheck disable=SC2034 # want and from_source are for the scripts that source this
set_wanted_version() {
    want="${PULLSMITH_VERSION:-}"
    want="${want#v}"
    from_source=false
    if [ "$want" = source ]; then
        from_source=true
        want=""
    fi
    [ -n "$want" ] || want="$(source_version "$1")"
    if ! [[ "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; then
        echo "::error title=pullsmith::version '$want' is not a version such as 1.0.0, nor \`source\` (the \`version\` input, else the action's Cargo.toml)"
        return 1
    fi
}

# The release target built for this runner (RUNNER_OS/RUNNER_ARCH, else
# uname outside Actions), or nothing when the release has no binary for it.
# The Linux binaries are static (musl), so they run on any distribution.
release_target() {
    local os="${RUNNER_OS:-$(uname -s)}" arch="${RUNNER_ARCH:-$(uname -m)}"
    case "$os/$arch" in
        Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
        Linux/ARM64 | Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-musl ;;
        macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
        macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
        Windows/X64 | MINGW*/x86_64 | MSYS*/x86_64) echo x86_64-pc-windows-msvc ;;
        *) ;;
    esac
}

# The directory that holds the release binary of version $1 for target $2:
# below the runner's tool cache, else below ~/.pullsmith.
release_dir() {
    if [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
        printf '%s\n' "$RUNNER_TOOL_CACHE/pullsmith/$1/$2"
    else
        printf '%s\n' "$HOME/.pullsmith/$1/$2"
    fi
}

# The binary's file name for target $1.
binary_name() {
    case "$1" in
        *-windows-*) echo pullsmith.exe ;;
        *) echo pullsmith ;;
    esac
}

# The version a pullsmith binary reports (`pullsmith 1.0.0` on --version).
version_of() { "$1" --version 2>/dev/null | awk '$1 == "pullsmith" { print $2; exit }'; }

# Seconds since the epoch, with a fraction where bash has EPOCHREALTIME
# (bash 5; macOS's /bin/bash 3.2 has whole seconds only).
now() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        printf '%s\n' "${EPOCHREALTIME/,/.}"
    else
        date +%s
    fi
}

# The time since $1 (a `now`), for the job summary: `1.3 s`, `412 s`.
elapsed_since() {
    LC_ALL=C awk -v start="$1" -v end="$(now)" \
        'BEGIN { d = end - start; if (d < 0) d = 0; if (d < 10) printf "%.1f s\n", d; else printf "%.0f s\n", d }'
}
