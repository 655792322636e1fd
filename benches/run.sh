#!/usr/bin/env bash
# pullsmith's own benchmark: throughput (MB/s, files/s), parallel speedup and
# peak memory of `check` and `apply` on synthetic GitOps monorepos made by
# ../shared/bench/gen_repo.py (the trees the peer rewriters are measured on),
# side by side with the floor of the approach (../shared/bench/floor: walk +
# read + yaml-rust2 event parse of every file, nothing else) in the same run,
# and, with --peers, the ruamel.yaml and npm `yaml` peers.
#
#   benches/run.sh [--apps "200 2000 10000"] [--seed S] [--jobs "1 2"] [--repeat N]
#                  [--peers] [--no-pathological] [--smoke]
#
# --smoke: 200 apps, one run each, no peers, no pathological inputs (what
# .ci/run runs, to show the script works; no timing is asserted).
# Wall seconds are the median of --repeat runs (each `apply` on a fresh copy,
# page cache warm, after one warm-up); peak RSS is GNU time's maximum
# resident set size. "vs floor" is the floor's wall time over pullsmith's at
# the same -j (above 1: faster than merely parsing every file).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
APPS="200 2000 10000" SEED=1 JOBS="1 2" REPEAT=3 PEERS=0 PATHOLOGICAL=1
while [ $# -gt 0 ]; do
  case "$1" in
    --apps) APPS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --peers) PEERS=1; shift ;;
    --no-pathological) PATHOLOGICAL=0; shift ;;
    --smoke) APPS=200 REPEAT=1 PEERS=0 PATHOLOGICAL=0; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "benches/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
SHARED=../shared/bench
missing() { echo "benches/run.sh: $1" >&2; exit 2; }
[ -f "$SHARED/gen_repo.py" ] || missing "$SHARED/gen_repo.py is absent (../shared sits beside the project)"
command -v python3 >/dev/null || missing "python3 is needed to generate the trees"
if [ ! -x /usr/bin/time ]; then
  { apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; }; } \
    || missing "GNU time (/usr/bin/time) is needed for peak memory: apt-get install time"
fi
cargo build --release -q
BIN=$PWD/target/release/pullsmith
# The floor, built outside ../shared (which stays small), in the ignored cache.
CARGO_TARGET_DIR=$PWD/.ci-cache/floor-target cargo build --release -q --manifest-path "$SHARED/floor/Cargo.toml"
FLOOR=$PWD/.ci-cache/floor-target/release/floor
WORK=$(mktemp -d /tmp/pullsmith-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "# $(date -u +%Y-%m-%dT%H:%MZ) nproc=$(nproc) cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" mem=$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) $("$BIN" --version)"

# median_of FILE: the median of the numbers in FILE, one a line.
median_of() {
  sort -n "$1" | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'
}

# time_pullsmith MODE JOBS: median wall seconds and peak RSS KB of pullsmith MODE on fresh copies.
time_pullsmith() {
  local mode=$1 jobs=$2 r rc wall kb rss=0
  : >"$WORK/walls"
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
    echo "$wall" >>"$WORK/walls"
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  echo "$(median_of "$WORK/walls") $rss"
}

# time_floor JOBS: the floor's median seconds (in process, walk included) and peak RSS KB.
time_floor() {
  "$FLOOR" parse "$WORK/orig" -j "$1" >/dev/null
  /usr/bin/time -f "%M" -o "$WORK/time" "$FLOOR" parse "$WORK/orig" -j "$1" --repeat "$REPEAT" >"$WORK/floor"
  echo "$(sed -n 's/^median .* seconds=\([0-9.]*\) .*/\1/p' "$WORK/floor") $(tail -1 "$WORK/time")"
}

for apps in $APPS; do
  rm -rf "$WORK/orig"
  GENERATED=$(python3 "$SHARED/gen_repo.py" "$WORK/orig" --apps "$apps" --seed "$SEED" --force)
  BYTES=$(sed -n 's/.*yaml_bytes=\([0-9]*\).*/\1/p' <<<"$GENERATED")
  FILES=$(sed -n 's/.*yaml_files=\([0-9]*\).*/\1/p' <<<"$GENERATED")
  LARGEST=$(find "$WORK/orig" -name '*.y*ml' -type f -printf '%s\n' | sort -n | tail -1)
  echo
  echo "## --apps $apps: $(awk -v b="$BYTES" 'BEGIN{printf "%.1f MB", b/1e6}') of YAML in $FILES files (largest $(awk -v b="$LARGEST" 'BEGIN{printf "%.0f KB", b/1e3}'))"
  echo
  echo "| what | jobs | wall s | MB/s | files/s | vs floor | vs -j1 | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  declare -A FLOOR_AT=() BASE=()
  for jobs in $JOBS; do
    read -r wall kb < <(time_floor "$jobs")
    FLOOR_AT[$jobs]=$wall
    [ "$jobs" = 1 ] && BASE[floor]=$wall
    awk -v j="$jobs" -v w="$wall" -v b="$BYTES" -v f="$FILES" -v kb="$kb" -v base="${BASE[floor]:-$wall}" \
      'BEGIN{ printf "| floor (walk + read + parse every file) | %s | %.3f | %.1f | %.0f | 1.00 | %.2f | %.0f |\n", j, w, b/1e6/w, f/w, base/w, kb/1024 }'
  done
  for mode in check apply; do
    for jobs in $JOBS; do
      read -r wall kb < <(time_pullsmith "$mode" "$jobs")
      [ "$jobs" = 1 ] && BASE[$mode]=$wall
      awk -v m="$mode" -v j="$jobs" -v w="$wall" -v b="$BYTES" -v f="$FILES" -v kb="$kb" -v fl="${FLOOR_AT[$jobs]}" -v base="${BASE[$mode]:-$wall}" \
        'BEGIN{ printf "| pullsmith %s | %s | %.3f | %.1f | %.0f | %.2f | %.2f | %.0f |\n", m, j, w, b/1e6/w, f/w, fl/w, base/w, kb/1024 }'
    done
  done
  if [ "$PEERS" = 1 ]; then
    # The peers, run by the shared harness on its own copy of the same tree (same seed), pullsmith beside them.
    if [ ! -x "$SHARED/../../.venv-bench/bin/python" ] && [ -z "${VENV:-}" ]; then
      (cd "$SHARED" && ./setup.sh >/dev/null) || missing "the peers could not be set up (../shared/bench/setup.sh: PyPI and npm)"
    fi
    echo
    PULLSMITH_BIN=$BIN "$SHARED/run_peers.sh" --apps "$apps" --seed "$SEED" --jobs "$JOBS" --modes apply --repeat 1 \
      --peers "ruamel yamljs" | grep '^|'
  fi
done
[ "$PATHOLOGICAL" = 1 ] || exit 0

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
