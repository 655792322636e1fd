#!/usr/bin/env bash
# Checks of the PyPI wheel (pyproject.toml, built by maturin) and of the
# pre-commit hooks that install it (pre-commit/, published as
# pullsmith/pullsmith-pre-commit), against the real tools. Runs like
# tests/integrations.sh (CI=true, no stdin, no network but the package
# registries); tools go into .ci-cache/ (git-ignored) once and are reused:
# maturin and pre-commit into its venv, and the wheels of the two build
# backends that pip needs in c (setuptools for the hook package, maturin for
# the control) into .ci-cache/wheel/backend.
#   a. `maturin sdist` leaves out the tests, examples and .ci-cache/, and
#      `maturin build --release --locked` in the unpacked sdist (so the
#      sdist is proven complete) makes one stripped wheel holding the binary,
#      in .ci-cache/wheel/dist
#   b. the wheel installs into a fresh venv, from that directory only, and
#      `pullsmith --version` there prints the version in Cargo.toml
#   c. pre-commit try-repo of the hook repository (pre-commit/, its pin set
#      to the version in Cargo.toml), with pip held to the built wheel and
#      setuptools (PIP_NO_INDEX=1, PIP_FIND_LINKS) and a cargo, rustc and
#      rustup first on PATH that record any call and fail (pip's own
#      `rustc --version`, for its user agent, excepted):
#      pullsmith-check passes on examples/plain made compliant by the wheel's
#      `pullsmith apply`, fails on examples/plain as it is, and
#      pullsmith-apply rewrites that; no stub was called to build. The
#      control: the same hooks with pullsmith's own repository as the hook
#      repository, and the wheel as an additional dependency, make pip build
#      its root, and call the cargo stub
#   d. the hook manifests: pre-commit accepts both, the wheel's hooks are the
#      source hooks but for `language`, the old ids are the -src hooks, and
#      the hook package pins the version in Cargo.toml
# Ends with `wheel: N passed, M failed`; exits 1 when any failed.
# shellcheck disable=SC2030,SC2031 # subshells export their own environments on purpose
set -euo pipefail
# shellcheck source=tests/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

MATURIN_VERSION=1.16.0
# The hook package's build backend (pre-commit/pyproject.toml asks for
# setuptools>=61): pip fetches it from PyPI for a user, from .ci-cache in c.
SETUPTOOLS_VERSION=80.9.0
# The pre-commit that tests/integrations.sh pins: one version for both.
PRE_COMMIT_VERSION="$(sed -n 's/^PRE_COMMIT_VERSION=//p' tests/integrations.sh)"

cache="$root/.ci-cache"
# The venv of tests/integrations.sh and tests/helm/setup.sh; this script's
# marker is .installed-wheel.
venv="$cache/venv"
sdist_dir="$cache/wheel/sdist"
# The unpacked sdist, kept so that cargo finds its build fresh next time.
source_dir="$cache/wheel/source"
dist="$cache/wheel/dist"
backend="$cache/wheel/backend"
export PRE_COMMIT_HOME="$cache/pre-commit"
# The target directory of tests/integrations.sh's hook builds, which have
# compiled the same dependencies with the same profile: a warm run only links.
# A release build without LTO behaves the same as the published one.
export CARGO_TARGET_DIR="$cache/cargo-target"
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
mkdir -p "$cache"


# ---------------------------------------------------------------------------
step "installing the tools into .ci-cache/ (skipped when present)"

pip_install "$venv" .installed-wheel "maturin==$MATURIN_VERSION" "pre-commit==$PRE_COMMIT_VERSION"
want_backend="setuptools==$SETUPTOOLS_VERSION maturin==$MATURIN_VERSION"
if [ "$(cat "$backend/.installed" 2>/dev/null)" != "$want_backend" ]; then
    rm -rf "$backend"
    # shellcheck disable=SC2086
    run "$venv/bin/pip" download --quiet --only-binary=:all: --no-deps --dest "$backend" $want_backend
    echo "$want_backend" > "$backend/.installed"
fi
echo "$("$venv/bin/maturin" --version), $("$venv/bin/pre-commit" --version); wheels of $want_backend"

version="$(cargo metadata --no-deps --format-version 1 --offline \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["packages"][0]["version"])')"
echo "Cargo.toml: pullsmith $version"


scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# ---------------------------------------------------------------------------
step "a. maturin sdist, then maturin build --release in the unpacked sdist"
set +e
(
    set -e
    rm -rf "$sdist_dir" "$dist"
    # cargo package, which lists the sdist's files, warns of the Windows name
    # of a fixture that the sdist then leaves out.
    run "$venv/bin/maturin" sdist --out "$sdist_dir" 2>&1 | { grep -v 'reserved Windows filename' || true; }
    sdists=("$sdist_dir"/pullsmith-"$version".tar.gz)
    [ -f "${sdists[0]}" ] || { echo "no pullsmith-$version.tar.gz in $sdist_dir"; exit 1; }
    tar -tzf "${sdists[0]}" | sed 's|^[^/]*/||' > "$scratch/sdist-files"
    echo "the sdist holds $(grep -cv '/$' "$scratch/sdist-files") files"
    for needed in Cargo.toml Cargo.lock pyproject.toml README.md src/main.rs rules/default.yaml rules/schema.json; do
        grep -qx "$needed" "$scratch/sdist-files" || { echo "the sdist lacks $needed"; exit 1; }
    done
    if grep -E '^(tests|examples|benches|\.ci|\.ci-cache|target|pre-commit)/' "$scratch/sdist-files"; then
        echo "the sdist carries the files above, which the build does not need"
        exit 1
    fi
    # Unpack into the kept source directory, replacing only the files whose
    # bytes changed (they get today's time): maturin stamps every file of the
    # sdist with one fixed time in 2006, so that the same sources give the
    # same sdist, and cargo, which compares times, would take a changed file
    # for one it has already built.
    mkdir -p "$scratch/unpacked" "$source_dir"
    tar -xzf "${sdists[0]}" -C "$scratch/unpacked"
    unpacked="$scratch/unpacked/pullsmith-$version"
    (cd "$unpacked" && find . -type f) | while IFS= read -r file; do
        if ! cmp -s "$unpacked/$file" "$source_dir/$file"; then
            mkdir -p "$(dirname "$source_dir/$file")"
            cp "$unpacked/$file" "$source_dir/$file"
        fi
    done
    (cd "$source_dir" && find . -type f) | while IFS= read -r file; do
        [ -e "$unpacked/$file" ] || rm -f "$source_dir/$file"
    done
    # --locked: the sdist's Cargo.lock is there and current.
    (cd "$source_dir" && run "$venv/bin/maturin" build --release --locked --out "$dist")
    wheels=("$dist"/pullsmith-"$version"-*.whl)
    [ -f "${wheels[0]}" ] && [ "${#wheels[@]}" -eq 1 ] || { echo "not one pullsmith-$version wheel in $dist"; ls -l "$dist"; exit 1; }
    echo "wheel: ${wheels[0]##*/} ($(du -k "${wheels[0]}" | cut -f1) KiB)"
    # The binary alone, as a script of the wheel; no sources, no module.
    python3 - "${wheels[0]}" "$version" <<'PY'
import sys, zipfile
wheel, version = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
script = f"pullsmith-{version}.data/scripts/pullsmith"
assert script in names, f"{script} is not in the wheel: {names}"
others = [n for n in names if n != script and not n.startswith(f"pullsmith-{version}.dist-info/")]
assert not others, f"the wheel holds more than the binary: {others}"
PY
    unzip -q -o "${wheels[0]}" "pullsmith-$version.data/scripts/pullsmith" -d "$scratch/wheel-binary"
    if readelf -S "$scratch/wheel-binary/pullsmith-$version.data/scripts/pullsmith" | grep -q '\.symtab'; then
        echo "the wheel's binary is not stripped"
        exit 1
    fi
)
result "maturin: sdist without tests, wheel built from it" $?
set -e
wheel_built=0
compgen -G "$dist/pullsmith-$version-*.whl" > /dev/null && wheel_built=1

# ---------------------------------------------------------------------------
step "b. the wheel in a fresh venv: pullsmith --version"
installed="$scratch/venv"
set +e
(
    set -e
    [ "$wheel_built" -eq 1 ] || { echo "no wheel (a failed)"; exit 1; }
    run python3 -m venv "$installed"
    # Only from the build's directory: the name and version resolve to it.
    run "$installed/bin/pip" install --quiet --no-index --find-links "$dist" "pullsmith==$version"
    echo "+ $installed/bin/pullsmith --version"
    got="$("$installed/bin/pullsmith" --version | head -n 1)"
    echo "$got"
    [[ "$got" =~ ^pullsmith\ ${version//./\\.}(\ |$) ]] || { echo "expected pullsmith $version"; exit 1; }
)
result "the wheel installs and runs (pullsmith --version)" $?
set -e

# ---------------------------------------------------------------------------
step "c. pre-commit try-repo of the wheel's hooks, offline, with cargo stubbed"
set +e
(
    set -e
    [ "$wheel_built" -eq 1 ] && [ -x "$installed/bin/pullsmith" ] || { echo "no installed wheel (a or b failed)"; exit 1; }
    export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
    export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.com
    export GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com

    # The hook repository as published: pre-commit/'s files at its root, the
    # pin set to the version just built.
    hooks_repo="$scratch/pullsmith-pre-commit"
    mkdir -p "$hooks_repo"
    cp -R pre-commit/. "$hooks_repo/"
    sed -i "s/\"pullsmith==[^\"]*\"/\"pullsmith==$version\"/" "$hooks_repo/pyproject.toml"
    grep -q "\"pullsmith==$version\"" "$hooks_repo/pyproject.toml"
    (cd "$hooks_repo" && git init -q -b main . && git add -A && git commit -q -m "pullsmith-pre-commit")

    # Anything that would compile pullsmith goes through one of these.
    stubs="$scratch/stubs"
    calls="$scratch/stub-calls"
    mkdir -p "$stubs"
    : > "$calls"
    for tool in cargo rustc rustup; do
        printf '#!/bin/sh\necho "%s $*" >> "%s"\necho "%s: stubbed by tests/wheel.sh" >&2\nexit 1\n' \
            "$tool" "$calls" "$tool" > "$stubs/$tool"
        chmod +x "$stubs/$tool"
    done

    # Two repositories holding examples/plain: as it is, and made compliant by
    # the wheel's binary.
    example="$scratch/example"
    compliant="$scratch/compliant"
    cp -R examples/plain/. "$example/"
    cp -R examples/plain/. "$compliant/"
    run "$installed/bin/pullsmith" -q apply "$compliant"
    for repo in "$example" "$compliant"; do
        (cd "$repo" && git init -q -b main . && git add -A && git commit -q -m "examples/plain")
    done

    log="$scratch/try-repo.log"
    # Runs one hook in the current directory; its output is shown and kept in
    # $log; returns pre-commit's code. pip may take only the built wheel and
    # setuptools: no index, so nothing can be fetched, and no sdist, so
    # nothing can be built but the hook package.
    try() {
        printf '+ pre-commit try-repo %s %s --all-files  (in %s)\n' "$hooks_repo" "$1" "$PWD"
        env PATH="$stubs:$PATH" PIP_NO_INDEX=1 PIP_FIND_LINKS="$dist $backend" PIP_CONFIG_FILE=/dev/null \
            "$venv/bin/pre-commit" try-repo "$hooks_repo" "$1" --all-files --color never > "$log" 2>&1
        local code=$?
        sed -n '/^Using config:/,/^=*$/!p' "$log" | grep -v '^=*$' || true
        return "$code"
    }
    # The hook itself must have run and failed (not pre-commit erring).
    hook_failed() { grep -q -- "- hook id: $1" "$log" && grep -q -- "- exit code: 1" "$log"; }

    cd "$compliant"
    echo "-- pullsmith-check on the compliant copy: must pass"
    try pullsmith-check
    cd "$example"
    echo "-- pullsmith-check on examples/plain as it is: must fail"
    if try pullsmith-check || ! hook_failed pullsmith-check; then
        echo "pullsmith-check did not fail as it should on examples/plain, which needs changes"
        exit 1
    fi
    grep -q '^diff --git a/dev/web.yaml b/dev/web.yaml' "$log" || { echo "pullsmith-check showed no diff"; exit 1; }
    echo "-- pullsmith-apply on examples/plain: rewrites the files"
    try pullsmith-apply || true
    grep -q "files were modified by this hook" "$log" || { echo "pullsmith-apply modified nothing"; exit 1; }
    # The same rewrite as the wheel's binary made in the compliant copy.
    diff -r -x .git "$example" "$compliant" > /dev/null || { echo "pullsmith-apply's rewrite differs from pullsmith apply's"; exit 1; }

    # pip puts rustc's version in its user agent (`rustc --version`, in
    # pip/_internal/network/session.py), which compiles nothing; any other
    # call would be a build.
    if grep -vx 'rustc --version' "$calls"; then
        echo "the hooks' install called the toolchain (above)"
        exit 1
    fi
    echo "cargo, rustc and rustup: no call but pip's $(grep -cx 'rustc --version' "$calls") version probes"

    # The control: the same hooks in pullsmith's own repository, whose root
    # is the maturin project, with the wheel as an additional dependency.
    # pre-commit runs `pip install . pullsmith==…`, pip builds that root with
    # maturin (offline here too), and maturin goes to the cargo stub: the
    # reason these hooks have a repository of their own, and the proof that
    # the stubs catch a build.
    echo "-- control: the same hook with pullsmith's own repository as the hook repository"
    hooks_repo="$scratch/pullsmith-as-python-hooks"
    mkdir -p "$hooks_repo"
    (
        cd "$root"
        git ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
            | tar --null -T - -cf -
    ) | tar -xf - -C "$hooks_repo"
    sed "s/^  language: python\$/&\n  additional_dependencies: [\"pullsmith==$version\"]/" \
        "$root/pre-commit/.pre-commit-hooks.yaml" > "$hooks_repo/.pre-commit-hooks.yaml"
    grep -q "additional_dependencies: \[\"pullsmith==$version\"\]" "$hooks_repo/.pre-commit-hooks.yaml"
    (cd "$hooks_repo" && git init -q -b main . && git add -A && git commit -q -m "pullsmith, hooks of language python")
    : > "$calls"
    cd "$compliant"
    if try pullsmith-check; then
        echo "pre-commit installed pullsmith's own repository as a python hook without building it"
        exit 1
    fi
    grep -q '^cargo ' "$calls" || { echo "the build did not go through the cargo stub:"; cat "$calls"; exit 1; }
    echo "pip built pullsmith's root, and maturin called the stub: $(grep -v -x 'rustc --version' "$calls" | sort -u | paste -sd ';')"
)
result "pre-commit try-repo (wheel hooks: check passes, check fails, apply; no compiler; control)" $?
set -e

# ---------------------------------------------------------------------------
step "d. the hook manifests and the pin"
set +e
(
    set -e
    run "$venv/bin/pre-commit" validate-manifest .pre-commit-hooks.yaml pre-commit/.pre-commit-hooks.yaml
    # pre-commit's own venv has PyYAML.
    "$venv/bin/python" - "$version" <<'PY'
import re, sys, tomllib, yaml

version = sys.argv[1]
def hooks(path):
    with open(path, encoding="utf-8") as f:
        return {hook["id"]: hook for hook in yaml.safe_load(f)}
def without(hook, *keys):
    return {k: v for k, v in hook.items() if k not in keys}

source, wheel = hooks(".pre-commit-hooks.yaml"), hooks("pre-commit/.pre-commit-hooks.yaml")
problems = []
if sorted(source) != ["pullsmith-apply", "pullsmith-apply-src", "pullsmith-check", "pullsmith-check-src"]:
    problems.append(f".pre-commit-hooks.yaml has the hooks {sorted(source)}")
if sorted(wheel) != ["pullsmith-apply", "pullsmith-check"]:
    problems.append(f"pre-commit/.pre-commit-hooks.yaml has the hooks {sorted(wheel)}")
for name in ("pullsmith-check", "pullsmith-apply"):
    src = source.get(f"{name}-src", {})
    if src.get("language") != "rust":
        problems.append(f"{name}-src is not language: rust")
    if without(source.get(name, {}), "id", "name") != without(src, "id", "name"):
        problems.append(f"{name} of .pre-commit-hooks.yaml differs from {name}-src")
    if wheel.get(name, {}).get("language") != "python":
        problems.append(f"{name} of pre-commit/ is not language: python")
    if without(wheel.get(name, {}), "language") != without(source.get(name, {}), "language"):
        problems.append(f"{name} of pre-commit/ differs from {name} of .pre-commit-hooks.yaml")

with open("pre-commit/pyproject.toml", "rb") as f:
    dependencies = tomllib.load(f)["project"]["dependencies"]
if dependencies != [f"pullsmith=={version}"]:
    problems.append(f"pre-commit/pyproject.toml depends on {dependencies}, not [pullsmith=={version}] (Cargo.toml)")

for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PY
    echo "the wheel's hooks match the source hooks; the pin is pullsmith==$version"
)
result "hook manifests (pre-commit validate-manifest, the hooks agree, the pin is Cargo.toml's)" $?
set -e

finish wheel
