"""Renders a Helm chart offline with Helm's own engine, as `helm template` would.

    render.py [CHART_DIR] [-f VALUES_FILE | --inline YAML | --helmrelease FILE
              | --application FILE]... [--release NAME] [--repo ROOT]
              [--source N] [--name NAME] [--namespace NAMESPACE]
              [--output yaml|json]

The engine is the PyPI package helm-python-sdk (Helm v4's Go SDK behind a C
ABI, loaded with ctypes; tests/helm/setup.sh installs it into
.ci-cache/venv): `helm_python.Chart.load(dir).render(values=..., name=...,
namespace=...)` returns {template path: rendered text}, after coalescing the
values with the chart's defaults (subcharts and `global` included) and
validating them against values.schema.json.

Values: every `-f FILE` and `--inline YAML` is one values document, parsed by
Helm's parser (sigs.k8s.io/yaml) and merged in the order given, a later one
winning, as `helm template -f a.yaml -f b.yaml` merges them: mappings merge
key by key, anything else (lists too) is replaced whole. A `null` removes a
default key, as in Helm.

Values from the files that carry them in a GitOps repository, read here
independently of pullsmith, each taking its place in that same order:

- `--helmrelease FILE`: FILE is a YAML stream (a HelmRelease manifest, or the
  output of `kubectl kustomize apps/dev`); its Flux HelmRelease document
  (`helm.toolkit.fluxcd.io/*`; the one named `--release NAME` when the stream
  holds several) gives its `spec.values` as one values document (none when
  absent), as Flux passes them to Helm. A HelmRelease with `valuesFrom` or
  `spec.chart.spec.valuesFiles` is refused: their values are not in FILE.
- `--application FILE --repo ROOT [--source N]`: an Argo CD Application
  (`argoproj.io/*`; `--release NAME` picks it by name in a stream). Its
  source is `spec.source`, or `spec.sources[N]` (without `--source`, the one
  source that has a `path` or `chart`). Its `helm` block gives, in Argo CD's
  order (the later wins): each of `valueFiles` in order, read relative to
  ROOT/`source.path` (one starting with `/` relative to ROOT, one starting
  with `$name/` relative to ROOT too when a source has `ref: name`: every
  source is taken to be the one repository ROOT; a missing file skipped under
  `ignoreMissingValueFiles`); then `valuesObject` when it is set, else the
  `values` string, parsed as a YAML document. Argo CD lets `valuesObject`
  replace `values` whole (they are not merged: values is ignored). Refused:
  `parameters` and `fileParameters`, a value file that is a URL, holds a glob
  or leaves ROOT. Without CHART_DIR, the chart is ROOT/`source.path` of the
  one `--application` given.

Release name and namespace: `--name` and `--namespace` when given; else those
of the first carrier: a HelmRelease's `spec.releaseName` (else
`<spec.targetNamespace>-<metadata.name>` when it has a target namespace, else
`metadata.name`) in `spec.targetNamespace` (else `metadata.namespace`); an
Application's `helm.releaseName` (else `metadata.name`) in `helm.namespace`
(else `spec.destination.namespace`); else `release-name` in `default`, as
`helm template`.

Output on stdout, one manifest per document, in template path order and, in
a template, in document order (deterministic; not Helm's install order by
kind): `yaml` (the default) is the stream `helm template` prints
(`---`, `# Source: <template>`, the rendered text); `json` is a list of the
manifests, each parsed by Helm's parser (Go YAML 1.1 semantics, as the API
server reads them). NOTES.txt is left out, and so are documents that are
empty or hold only comments, as Helm leaves them out of a release.

Errors (a chart that does not load, a values file that is missing or not a
mapping, a carrier that is not there or holds what the oracle cannot read, a
template that fails, values the schema rejects) go to stderr with exit code
1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

# Helm's releaseutil.SplitManifests separator, `\s` spelled as Go's RE2 reads it.
DOCUMENT_SEPARATOR = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")


class CarrierError(Exception):
    """A carrier file that cannot give its values."""


class ValuesAction(argparse.Action):
    """Keeps -f, --inline, --helmrelease and --application in one list, in command-line order."""

    def __call__(self, parser, namespace, value, option_string=None):  # type: ignore[no-untyped-def]
        sources = getattr(namespace, "sources", None) or []
        sources.append((self.dest, value))
        namespace.sources = sources


def merge_maps(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's cli/values mergeMaps: `-f a -f b` merges b over a."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_maps(out[key], value)
        else:
            out[key] = value
    return out


def split_manifests(text: str) -> list[str]:
    """Helm's releaseutil.SplitManifests, keeping document order."""
    return [doc.strip() for doc in DOCUMENT_SEPARATOR.split(text.strip()) if doc.strip()]


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def carrier(helm: Any, path: str, api_group: str, kind: str, name: str | None) -> dict[str, Any]:
    """The one document of `kind` (apiVersion `api_group/*`) in the stream at `path`, named `name` if given."""
    found = []
    for doc in split_manifests(read_text(path)):
        try:
            manifest = helm.values_from_yaml(doc)
        except helm.HelmError as err:
            raise CarrierError(f"{path}: a document does not parse: {err}") from err
        api_version = str(manifest.get("apiVersion", ""))
        if manifest.get("kind") == kind and api_version.startswith(api_group + "/"):
            if name is None or (manifest.get("metadata") or {}).get("name") == name:
                found.append(manifest)
    names = [(m.get("metadata") or {}).get("name") for m in found]
    if len(found) != 1:
        what = f"{kind} named `{name}`" if name is not None else kind
        detail = f" (found {names}; choose one with --release)" if found else ""
        raise CarrierError(f"{path}: {len(found)} {what} documents, want exactly one{detail}")
    return found[0]


def helmrelease_values(helm: Any, path: str, name: str | None) -> tuple[dict[str, Any], tuple[str, str]]:
    """A Flux HelmRelease's `spec.values`, and its release name and namespace."""
    release = carrier(helm, path, "helm.toolkit.fluxcd.io", "HelmRelease", name)
    spec = release.get("spec") or {}
    if spec.get("valuesFrom"):
        raise CarrierError(f"{path}: HelmRelease `valuesFrom` is not supported (its values are not in the file)")
    if ((spec.get("chart") or {}).get("spec") or {}).get("valuesFiles"):
        raise CarrierError(f"{path}: HelmRelease `spec.chart.spec.valuesFiles` is not supported")
    values = spec.get("values")
    if values is not None and not isinstance(values, dict):
        raise CarrierError(f"{path}: HelmRelease `spec.values` is not a mapping")
    metadata = release.get("metadata") or {}
    target = spec.get("targetNamespace")
    default_name = f"{target}-{metadata.get('name')}" if target else metadata.get("name")
    release_name = spec.get("releaseName") or default_name or "release-name"
    namespace = target or metadata.get("namespace") or "default"
    return values or {}, (release_name, namespace)


def application_source(app: dict[str, Any], path: str, index: int | None) -> dict[str, Any]:
    """`spec.source`, or `spec.sources[index]` (else the one source with a path or chart)."""
    spec = app.get("spec") or {}
    sources = spec.get("sources")
    if index is not None:
        if not isinstance(sources, list) or not 0 <= index < len(sources):
            raise CarrierError(f"{path}: the Application has no `spec.sources[{index}]`")
        return sources[index]
    if spec.get("source") is not None:
        return spec["source"]
    if isinstance(sources, list):
        chart_sources = [s for s in sources if s.get("path") is not None or s.get("chart") is not None]
        if len(chart_sources) == 1:
            return chart_sources[0]
        raise CarrierError(f"{path}: {len(chart_sources)} sources with a path or chart; choose one with --source")
    raise CarrierError(f"{path}: the Application has neither `spec.source` nor `spec.sources`")


def value_file_path(entry: str, source: dict[str, Any], refs: set[str], root: str, path: str) -> str:
    """Where Argo CD reads one of `valueFiles`, refusing what the oracle cannot follow."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", entry):
        raise CarrierError(f"{path}: value file `{entry}` is a URL, which the oracle does not fetch")
    if any(c in entry for c in "*?["):
        raise CarrierError(f"{path}: value file `{entry}` is a glob, which the oracle does not expand")
    if entry.startswith("$"):
        ref, _, rest = entry[1:].partition("/")
        if ref not in refs:
            raise CarrierError(f"{path}: value file `{entry}` names no source with `ref: {ref}`")
        resolved = os.path.join(root, rest)
    elif entry.startswith("/"):
        resolved = os.path.join(root, entry.lstrip("/"))
    elif source.get("path") is not None:
        resolved = os.path.join(root, source["path"], entry)
    else:
        raise CarrierError(f"{path}: value file `{entry}` is relative, and the source has no `path`")
    real_root = os.path.realpath(root)
    real = os.path.realpath(resolved)
    if os.path.commonpath([real_root, real]) != real_root:
        raise CarrierError(f"{path}: value file `{entry}` leaves the repository {root}")
    return resolved


def application_values(
    helm: Any, path: str, name: str | None, root: str, index: int | None
) -> tuple[list[dict[str, Any]], tuple[str, str], str | None]:
    """An Argo CD Application's values documents in merge order, its release name and namespace, and its chart dir."""
    app = carrier(helm, path, "argoproj.io", "Application", name)
    source = application_source(app, path, index)
    settings = source.get("helm") or {}
    for refused in ("parameters", "fileParameters"):
        if settings.get(refused):
            raise CarrierError(f"{path}: Application `helm.{refused}` is not supported")
    refs = {s.get("ref") for s in (app.get("spec") or {}).get("sources") or [] if s.get("ref")}
    documents: list[dict[str, Any]] = []
    for entry in settings.get("valueFiles") or []:
        file = value_file_path(str(entry), source, refs, root, path)
        if not os.path.exists(file) and settings.get("ignoreMissingValueFiles"):
            continue
        try:
            documents.append(helm.values_from_yaml(read_text(file)))
        except helm.HelmError as err:
            raise CarrierError(f"{file}: {err}") from err
    if settings.get("valuesObject") is not None:
        if not isinstance(settings["valuesObject"], dict):
            raise CarrierError(f"{path}: Application `helm.valuesObject` is not a mapping")
        documents.append(settings["valuesObject"])
    elif settings.get("values"):
        try:
            documents.append(helm.values_from_yaml(str(settings["values"])))
        except helm.HelmError as err:
            raise CarrierError(f"{path}: Application `helm.values`: {err}") from err
    metadata = app.get("metadata") or {}
    destination = (app.get("spec") or {}).get("destination") or {}
    release = (
        settings.get("releaseName") or metadata.get("name") or "release-name",
        settings.get("namespace") or destination.get("namespace") or "default",
    )
    chart = os.path.join(root, source["path"]) if source.get("path") is not None else None
    return documents, release, chart


def main() -> int:
    parser = argparse.ArgumentParser(prog="render.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("chart", nargs="?",
                        help="the chart directory (or .tgz); with one --application, ROOT/source.path by default")
    parser.add_argument("-f", "--values", dest="file", action=ValuesAction, metavar="FILE",
                        help="a values file (repeatable; merged in order with the other values options)")
    parser.add_argument("--inline", dest="inline", action=ValuesAction, metavar="YAML",
                        help="a values document as text (repeatable; merged in order)")
    parser.add_argument("--helmrelease", dest="helmrelease", action=ValuesAction, metavar="FILE",
                        help="a YAML stream holding a Flux HelmRelease: its spec.values (repeatable; merged in order)")
    parser.add_argument("--application", dest="application", action=ValuesAction, metavar="FILE",
                        help="an Argo CD Application: its helm valueFiles, values, valuesObject (repeatable)")
    parser.add_argument("--release", metavar="NAME",
                        help="the metadata.name of the HelmRelease or Application to read in a stream")
    parser.add_argument("--repo", metavar="ROOT", help="the repository an Application's paths are relative to")
    parser.add_argument("--source", type=int, metavar="N", help="read an Application's spec.sources[N]")
    parser.add_argument("--name", help="release name (default: the carrier's, else release-name)")
    parser.add_argument("--namespace", help="release namespace (default: the carrier's, else default)")
    parser.add_argument("--output", choices=["yaml", "json"], default="yaml")
    args = parser.parse_args()
    sources: list[tuple[str, str]] = getattr(args, "sources", None) or []
    applications = [value for kind, value in sources if kind == "application"]
    if args.chart is None and len(applications) != 1:
        parser.error("the chart directory is required unless exactly one --application gives it")
    if applications and args.repo is None:
        parser.error("--application needs --repo ROOT, the repository its paths are relative to")

    try:
        import helm_python as helm
    except ImportError as err:
        print(f"render.py: error: cannot import helm_python ({err}); run tests/helm/setup.sh "
              "and use .ci-cache/venv/bin/python", file=sys.stderr)
        return 1

    try:
        values: dict[str, Any] = {}
        carrier_release: tuple[str, str] | None = None
        chart_dir = args.chart
        for kind, source in sources:
            if kind in ("file", "inline"):
                text = read_text(source) if kind == "file" else source
                try:
                    documents = [helm.values_from_yaml(text)]
                except helm.HelmError as err:
                    label = source if kind == "file" else "--inline values"
                    raise helm.HelmValuesError(f"{label}: {err}") from err
            elif kind == "helmrelease":
                document, release = helmrelease_values(helm, source, args.release)
                documents = [document]
                carrier_release = carrier_release or release
            else:
                documents, release, app_chart = application_values(helm, source, args.release, args.repo, args.source)
                carrier_release = carrier_release or release
                if chart_dir is None:
                    if app_chart is None:
                        raise CarrierError(f"{source}: the source has no `path`; give the chart directory")
                    chart_dir = app_chart
            for document in documents:
                values = merge_maps(values, document)

        name = args.name or (carrier_release[0] if carrier_release else "release-name")
        namespace = args.namespace or (carrier_release[1] if carrier_release else "default")
        with helm.Chart.load(chart_dir) as chart:
            rendered = chart.render(values=values, name=name, namespace=namespace)

        documents_out: list[tuple[str, str, Any]] = []
        for template in sorted(rendered):
            if template.endswith("NOTES.txt"):
                continue
            for doc in split_manifests(rendered[template]):
                try:
                    manifest = helm.values_from_yaml(doc)
                except helm.HelmError as err:
                    raise helm.HelmRenderError(f"{template}: rendered YAML does not parse: {err}") from err
                if manifest:
                    documents_out.append((template, doc, manifest))
    except (helm.HelmError, CarrierError, OSError, UnicodeDecodeError) as err:
        print(f"render.py: error: {err}", file=sys.stderr)
        return 1

    if args.output == "json":
        json.dump([manifest for _, _, manifest in documents_out], sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for template, doc, _ in documents_out:
            sys.stdout.write(f"---\n# Source: {template}\n{doc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
