"""Renders a Helm chart offline with Helm's own engine, as `helm template` would.

    render.py CHART_DIR [-f VALUES_FILE | --inline YAML]... [--name NAME]
              [--namespace NAMESPACE] [--output yaml|json]

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

Output on stdout, one manifest per document, in template path order and, in
a template, in document order (deterministic; not Helm's install order by
kind): `yaml` (the default) is the stream `helm template` prints
(`---`, `# Source: <template>`, the rendered text); `json` is a list of the
manifests, each parsed by Helm's parser (Go YAML 1.1 semantics, as the API
server reads them). NOTES.txt is left out, and so are documents that are
empty or hold only comments, as Helm leaves them out of a release. Release
name `release-name` and namespace `default` unless given, as `helm template`.

Errors (a chart that does not load, a values file that is missing or not a
mapping, a template that fails, values the schema rejects) go to stderr with
exit code 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

# Helm's releaseutil.SplitManifests separator, `\s` spelled as Go's RE2 reads it.
DOCUMENT_SEPARATOR = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")


class ValuesAction(argparse.Action):
    """Keeps -f and --inline in one list, in command-line order."""

    def __call__(self, parser, namespace, value, option_string=None):  # type: ignore[no-untyped-def]
        sources = getattr(namespace, "sources", None) or []
        sources.append(("file" if self.dest == "file" else "inline", value))
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


def main() -> int:
    parser = argparse.ArgumentParser(prog="render.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("chart", help="the chart directory (or .tgz)")
    parser.add_argument("-f", "--values", dest="file", action=ValuesAction, metavar="FILE",
                        help="a values file (repeatable; merged in order with --inline)")
    parser.add_argument("--inline", dest="inline", action=ValuesAction, metavar="YAML",
                        help="a values document as text (repeatable; merged in order with -f)")
    parser.add_argument("--name", default="release-name", help="release name (default: release-name)")
    parser.add_argument("--namespace", default="default", help="release namespace (default: default)")
    parser.add_argument("--output", choices=["yaml", "json"], default="yaml")
    args = parser.parse_args()

    try:
        import helm_python as helm
    except ImportError as err:
        print(f"render.py: error: cannot import helm_python ({err}); run tests/helm/setup.sh "
              "and use .ci-cache/venv/bin/python", file=sys.stderr)
        return 1

    try:
        values: dict[str, Any] = {}
        for kind, source in getattr(args, "sources", None) or []:
            if kind == "file":
                with open(source, encoding="utf-8") as file:
                    text = file.read()
            else:
                text = source
            try:
                values = merge_maps(values, helm.values_from_yaml(text))
            except helm.HelmError as err:
                label = source if kind == "file" else "--inline values"
                raise helm.HelmValuesError(f"{label}: {err}") from err

        with helm.Chart.load(args.chart) as chart:
            rendered = chart.render(values=values, name=args.name, namespace=args.namespace)

        documents: list[tuple[str, str, Any]] = []
        for template in sorted(rendered):
            if template.endswith("NOTES.txt"):
                continue
            for doc in split_manifests(rendered[template]):
                try:
                    manifest = helm.values_from_yaml(doc)
                except helm.HelmError as err:
                    raise helm.HelmRenderError(f"{template}: rendered YAML does not parse: {err}") from err
                if manifest:
                    documents.append((template, doc, manifest))
    except (helm.HelmError, OSError, UnicodeDecodeError) as err:
        print(f"render.py: error: {err}", file=sys.stderr)
        return 1

    if args.output == "json":
        json.dump([manifest for _, _, manifest in documents], sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for template, doc, _ in documents:
            sys.stdout.write(f"---\n# Source: {template}\n{doc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
