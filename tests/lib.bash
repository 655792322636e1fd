# Shared by the check scripts that .ci/run calls (tests/integrations.sh,
# tests/package.sh, tests/wheel.sh): each step printed, each command echoed
# before it runs, and a tally of named checks that ends in the closing line
# `NAME: N passed, M failed` CI reads. Sourced, never run.

step() { printf '\n== %s\n' "$*"; }

run() {
    printf '+ %s\n' "$*"
    "$@"
}

passed=0
failed=0
failures=()

# result NAME EXIT_CODE: counts one check.
result() {
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok: $1"
    else
        failed=$((failed + 1))
        failures+=("$1")
        echo "FAILED: $1"
    fi
}

# finish NAME: the closing line; fails when a check failed.
finish() {
    echo
    if [ "$failed" -gt 0 ]; then
        printf 'failed: %s\n' "${failures[@]}"
    fi
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# pip_install VENV MARKER PACKAGE==VERSION...: installs into VENV (made when
# missing) unless MARKER already names exactly these packages.
pip_install() {
    local venv="$1" marker="$2"
    shift 2
    [ -x "$venv/bin/python" ] || run python3 -m venv "$venv"
    if [ "$(cat "$venv/$marker" 2>/dev/null)" != "$*" ]; then
        run "$venv/bin/pip" install --quiet "$@"
        echo "$*" > "$venv/$marker"
    fi
}
