#!/usr/bin/env bash
# Installs the pullsmith the action wants and sets the output `bin`. The
# version is PULLSMITH_VERSION (the `version` input) or else the one in the
# action's own Cargo.toml, so `pullsmith/pullsmith@v1` runs the release that
# `v1` points at; `source` means the action's own source, built (4. below).
# In order, the first that applies:
#
#   1. a pullsmith of that version on PATH (a self-hosted runner's) or in
#      ~/.cargo/bin: used as it is;
#   2. the release binary in the cache directory
#      ($RUNNER_TOOL_CACHE/pullsmith/<version>/<target>, else
#      ~/.pullsmith/<version>/<target>), put there by an earlier run and
#      restored by actions/cache;
#   3. the release binary downloaded from the GitHub release v<version>
#      (PULLSMITH_RELEASE_BASE_URL, default the pullsmith repository's
#      releases; a file:// URL works too), its sha256 checked against the
#      release's <archive>.sha256 before anything is unpacked;
#   4. when the release has no asset for this version and runner: a build of
#      the action's source with `cargo install --locked` (action/build.sh).
#      With PULLSMITH_DEFER_BUILD=true (action.yml) the build is left to the
#      next step, so that the cargo caches are restored only when needed: the
#      output `build` then says why.
#
# A checksum that does not match is refused (exit 1, nothing installed), as
# is a failed download other than "no such file": a network failure must not
# quietly turn into a build from source. The job summary says which way was
# taken and how long it took.
set -euo pipefail

root="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
out="${GITHUB_OUTPUT:-/dev/null}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
base_url="${PULLSMITH_RELEASE_BASE_URL:-https://github.com/pullsmith/pullsmith/releases/download}"
base_url="${base_url%/}"
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
# shellcheck source=action/common.bash
. "$root/action/common.bash"

started="$(now)"
set_wanted_version "$root"

die() {
    echo "::error title=pullsmith::$*"
    exit 1
}

# The binary is chosen: later steps of the job find it on PATH too.
installed() { # binary, how (for the summary)
    if [ -n "${GITHUB_PATH:-}" ]; then
        dirname "$1" >> "$GITHUB_PATH"
    fi
    echo "bin=$1" >> "$out"
    printf 'pullsmith %s: %s, %s\n\n' "$want" "$2" "$(elapsed_since "$started")" >> "$summary"
    "$1" --version
    exit 0
}

# No release binary to use: build from source, here or in the next step.
build_from_source() { # why
    local source
    source="$(source_version "$root")"
    if [ "$want" != "$source" ]; then
        die "pullsmith $want cannot be installed: $1, and the action's source is version $source, so a build would not be $want either; choose a released \`version\`, or leave it empty for the action's own"
    fi
    if [ "${PULLSMITH_DEFER_BUILD:-}" = true ]; then
        echo "$1: the next step builds pullsmith $want from source"
        echo "build=$1" >> "$out"
        exit 0
    fi
    echo "$1: building pullsmith $want from source"
    local rc=0
    PULLSMITH_BUILD_REASON="$1" bash "$root/action/build.sh" || rc=$?
    exit "$rc"
}

# `version: source`: none of the others.
if [ "$from_source" = true ]; then
    build_from_source "the \`version\` input asks for a build of the action's source"
fi

# 1. Already installed.
found=""
if command -v pullsmith >/dev/null 2>&1; then
    found="$(command -v pullsmith)"
elif [ -x "$cargo_bin/pullsmith" ]; then
    found="$cargo_bin/pullsmith"
fi
if [ -n "$found" ] && [ "$(version_of "$found")" = "$want" ]; then
    echo "pullsmith $want is already installed at $found; skipping the download and cargo install"
    installed "$found" "already installed at $found"
fi
if [ -n "$found" ]; then
    echo "pullsmith at $found is version '$(version_of "$found")', the action wants $want"
fi

target="$(release_target)"
if [ -z "$target" ]; then
    build_from_source "no release binary is built for ${RUNNER_OS:-$(uname -s)} ${RUNNER_ARCH:-$(uname -m)}"
fi
dir="$(release_dir "$want" "$target")"
bin="$dir/$(binary_name "$target")"

# 2. Cached. The directory is keyed on version and target, and a binary only
# ever lands in it after its checksum matched.
if [ -x "$bin" ]; then
    echo "pullsmith $want ($target) is in the cache at $dir"
    installed "$bin" "release binary $target from the cache"
fi

# 3. Downloaded and checked.
archive="pullsmith-$want-$target"
case "$target" in
    *-windows-*) file="$archive.zip" ;;
    *) file="$archive.tar.gz" ;;
esac
url="$base_url/v$want/$file"
sums_url="$base_url/v$want/$archive.sha256"

tmp="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pullsmith-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Downloads $1 to $2: returns 0, 1 when there is no such file (HTTP 404, or
# a file:// path that does not exist), 2 on any other failure (curl's message
# is in $tmp/curl.err).
fetch() {
    local code rc=0
    code="$(curl --silent --show-error --location --fail --retry 3 --connect-timeout 30 \
        --output "$2" --write-out '%{http_code}' "$1" 2> "$tmp/curl.err")" || rc=$?
    [ "$rc" -eq 0 ] && return 0
    if [ "$code" = 404 ] || [ "$rc" -eq 37 ]; then
        return 1
    fi
    return 2
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    else
        shasum -a 256 "$1" | awk '{ print $1 }'
    fi
}

echo "downloading $url"
rc=0
fetch "$url" "$tmp/$file" || rc=$?
case "$rc" in
    0) ;;
    1) build_from_source "no release asset for $target at $url" ;;
    *) die "could not download $url: $(cat "$tmp/curl.err"); nothing was installed" ;;
esac
rc=0
fetch "$sums_url" "$tmp/$archive.sha256" || rc=$?
case "$rc" in
    0) ;;
    1) die "the release has $file but no $archive.sha256 ($sums_url) to check it against; nothing was installed" ;;
    *) die "could not download $sums_url: $(cat "$tmp/curl.err"); nothing was installed" ;;
esac

# sha256sum's format, `<hex>  <file>` (` *<file>` in binary mode): the line
# that names this archive.
expected="$(awk -v name="$file" '{ f = $2; sub(/^\*/, "", f) } f == name { print tolower($1); exit }' \
    "$tmp/$archive.sha256")"
if ! [[ "$expected" =~ ^[0-9a-f]{64}$ ]]; then
    die "$sums_url holds no sha256 for $file; nothing was installed"
fi
actual="$(sha256_of "$tmp/$file")"
if [ "$actual" != "$expected" ]; then
    die "sha256 mismatch for $file: $archive.sha256 says $expected, the download is $actual; refusing it, nothing was installed"
fi
echo "sha256 $actual matches $archive.sha256"

mkdir "$tmp/unpacked"
case "$file" in
    *.zip)
        if command -v unzip >/dev/null 2>&1; then
            unzip -q "$tmp/$file" -d "$tmp/unpacked"
        else
            7z x -y -o"$tmp/unpacked" "$tmp/$file" > /dev/null
        fi
        ;;
    *) tar -xzf "$tmp/$file" -C "$tmp/unpacked" ;;
esac
unpacked="$tmp/unpacked/$archive/$(binary_name "$target")"
[ -f "$unpacked" ] || die "$file holds no $archive/$(binary_name "$target"); nothing was installed"

# Into the cache directory under a temporary name, then renamed: a binary at
# $bin is always a whole one.
mkdir -p "$dir"
cp "$unpacked" "$dir/.pullsmith.partial"
chmod +x "$dir/.pullsmith.partial"
mv -f "$dir/.pullsmith.partial" "$bin"
reported="$(version_of "$bin" || true)"
if [ "$reported" != "$want" ]; then
    echo "::warning title=pullsmith::the release binary of $want says it is version '$reported'"
fi
installed "$bin" "release binary $target, verified sha256"
