#!/usr/bin/env bash
# pullsmith's own benchmark: throughput (MB/s, files/s), parallel speedup and
# peak memory of `check` and `apply` on a synthetic GitOps monorepo made by
# ../shared/bench/gen_repo.py (the same trees the peer rewriters are measured on).
#
#   benches/run.sh [--apps N] [--seed S] [--jobs "1 2"] [--repeat N]
#
# Wall seconds are the median of --repeat runs (each `apply` on a fresh copy,
# page cache warm); peak RSS is GNU time's maximum resident set size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
APPS=200 SEED=1 JOBS="1 2" REPEAT=3
while [ $# -gt 0 ]; do
  case "$1" in
    --apps) APPS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) echo "benches/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
GEN=../shared/bench/gen_repo.py
[ -f "$GEN" ] || { echo "benches/run.sh: $GEN is absent (../shared sits beside the project)" >&2; exit 2; }
[ -x /usr/bin/time ] || { apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; }; }
cargo build --release -q
BIN=$PWD/target/release/pullsmith
WORK=$(mktemp -d /tmp/pullsmith-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
GENERATED=$(python3 "$GEN" "$WORK/orig" --apps "$APPS" --seed "$SEED" --force)
BYTES=$(sed -n 's/.*yaml_bytes=\([0-9]*\).*/\1/p' <<<"$GENERATED")
FILES=$(sed -n 's/.*yaml_files=\([0-9]*\).*/\1/p' <<<"$GENERATED")
echo "# $(date -u +%Y-%m-%dT%H:%MZ) nproc=$(nproc) cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" $("$BIN" --version)"
echo "# tree: $GENERATED"
echo
echo "| mode | jobs | wall s (median [min-max]) | MB/s | files/s | speedup vs -j1 | peak RSS MB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
declare -A BASE
for mode in check apply; do
  for jobs in $JOBS; do
    walls=() rss=0
    for ((r = 0; r < REPEAT + 1; r++)); do
      rm -rf "$WORK/copy" && cp -a "$WORK/orig" "$WORK/copy"
      set +e
      /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN" "$mode" -q -j "$jobs" "$WORK/copy" >/dev/null 2>&1
      rc=$?
      set -e
      if [ "$rc" -ne 0 ] && ! { [ "$mode" = check ] && [ "$rc" -eq 1 ]; }; then
        echo "pullsmith $mode -j $jobs exited $rc" >&2; exit 1
      fi
      read -r wall kb < <(tail -1 "$WORK/time")
      [ "$r" -eq 0 ] && continue   # warm-up
      walls+=("$wall")
      [ "$kb" -gt "$rss" ] && rss=$kb
    done
    sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
    median=$(awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }' <<<"$sorted")
    range="$(head -1 <<<"$sorted")-$(tail -1 <<<"$sorted")"
    [ "$jobs" = 1 ] && BASE[$mode]=$median
    speedup=$(awk -v b="${BASE[$mode]:-$median}" -v m="$median" 'BEGIN{ if (m>0) printf "%.2f", b/m; else print "-" }')
    awk -v mode="$mode" -v jobs="$jobs" -v w="$median" -v range="$range" -v bytes="$BYTES" -v files="$FILES" -v rss="$rss" -v sp="$speedup" \
      'BEGIN{ printf "| %s | %s | %s [%s] | %.1f | %.0f | %s | %.0f |\n", mode, jobs, w, range, bytes/1e6/w, files/w, sp, rss/1024 }'
  done
done

# Pathological inputs: one row each, wall seconds and peak RSS of one run.
# pathological NAME COMMAND...: COMMAND writes a repository into $WORK/patho,
# then `pullsmith diff` runs on it. Rows for other shapes go beside these.
echo
echo "| pathological input | wall s | peak RSS MB |"
echo "|---|---:|---:|"
pathological() {
  local name=$1 wall kb
  shift
  rm -rf "$WORK/patho" && mkdir -p "$WORK/patho"
  "$@"
  # The 100 MB row is past the 16 MiB default limit.
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN" diff -q --max-file-size 200000000 "$WORK/patho" >/dev/null 2>&1 || true
  read -r wall kb < <(tail -1 "$WORK/time")
  awk -v name="$name" -v w="$wall" -v kb="$kb" 'BEGIN{ printf "| %s | %s | %.0f |\n", name, w, kb/1024 }'
}
# N Pods in one dev file, each given a policy and a pull secret: N*2 changes in one file.
many_pods() {
  mkdir -p "$WORK/patho/dev"
  printf 'version: 1\nenvironments:\n  dev:\n    paths: ["**/dev/**"]\n    imagePullPolicy: Always\n    imagePullSecrets: [regcred]\n' >"$WORK/patho/.pullsmith.yaml"
  python3 -c 'import sys
for i in range(int(sys.argv[1])):
    sys.stdout.write("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-%d\nspec:\n  containers:\n    - name: app\n      image: registry.example.com/app:1.%d\n" % (i, i % 10))' "$1" >"$WORK/patho/dev/pods.yaml"
}
for pods in 5000 10000 20000; do
  pathological "many changes in one file: $pods Pods" many_pods "$pods"
done
# One minified JSON-style List on a single 235 KB line holding one `é`, 960 Pods in need of a policy.
long_line() {
  mkdir -p "$WORK/patho/dev"
  python3 -c 'import json
items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p%d" % i, "annotations": {"note": "x" * 100}},
          "spec": {"containers": [{"name": "c", "image": "nginx:1.%d" % i}]}} for i in range(960)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "metadata": {"annotations": {"who": "\u00e9"}}, "items": items},
                 separators=(",", ":"), ensure_ascii=False))' >"$WORK/patho/dev/list.yaml"
}
pathological "one 235 KB line with one non-ASCII character" long_line
# A 100 MB file of 163,420 Deployments, each in need of a policy.
large_file() {
  mkdir -p "$WORK/patho/dev"
  python3 -c 'import sys
doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{0}\n  labels:\n    app: app-{0}\nspec:\n  template:\n    spec:\n      containers:\n      - name: main\n        image: registry.example.com/app-{0}:1.2.{0}\n        env:\n        - name: MODE\n          value: production\n        resources:\n          limits:\n            cpu: 500m\n            memory: 256Mi\n---\n"
size = i = 0
while size < 100_000_000:
    text = doc.format(i); sys.stdout.write(text); size += len(text); i += 1' >"$WORK/patho/dev/all.yaml"
}
pathological "one 100 MB file of Deployments" large_file
# The limits of the hardening issue. A 1 GiB file (sparse, so it costs no
# disk): refused by its size before a byte is read.
gib_file() {
  mkdir -p "$WORK/patho/dev"
  truncate -s 1G "$WORK/patho/dev/huge.yaml"
}
pathological "a 1 GiB file, refused by its size" gib_file
# 100,000 aliases of one anchored mapping in one file, beside 1,000 containers sharing an aliased env list.
many_aliases() {
  mkdir -p "$WORK/patho/dev"
  python3 -c 'import sys
out = ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: &l {a: b}\nitems:\n"]
out.append("  - *l\n" * 100000)
out.append("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx\n    env: &e [{name: A, value: b}]\n")
out.append("".join("  - {name: c%d, image: nginx, env: *e}\n" % i for i in range(1000)))
sys.stdout.write("".join(out))' >"$WORK/patho/dev/aliases.yaml"
}
pathological "100,000 aliases in one file" many_aliases
# A 13.8 MB single line: a minified List of 40,000 Pods, each in need of a policy.
ten_mb_line() {
  mkdir -p "$WORK/patho/dev"
  python3 -c 'import json
items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p%d" % i, "annotations": {"n": "x" * 200}},
          "spec": {"containers": [{"name": "c", "image": "nginx:1.%d" % i}]}} for i in range(40000)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, separators=(",", ":")))' >"$WORK/patho/dev/line.yaml"
}
pathological "one 13.8 MB line of 40,000 Pods" ten_mb_line
# N small Pods, each in need of a policy: in one directory, or spread over a tree of 50 per directory.
many_files() {
  python3 -c 'import os, sys
n, flat, root = int(sys.argv[1]), sys.argv[2] == "flat", sys.argv[3]
pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{0}\nspec:\n  containers:\n    - name: c\n      image: nginx:1.{0}\n"
for i in range(n):
    d = root + "/dev" + ("" if flat else "/a%d/b%d" % (i // 1000, (i // 50) % 20))
    os.makedirs(d, exist_ok=True)
    with open("%s/p%d.yaml" % (d, i), "w") as f:
        f.write(pod.format(i))' "$1" "$2" "$WORK/patho"
}
pathological "10,000 files in one directory" many_files 10000 flat
pathological "100,000 files in the tree" many_files 100000 tree
