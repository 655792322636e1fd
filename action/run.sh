#!/usr/bin/env bash
# The run step of the pullsmith GitHub Action (action.yml). Its inputs come as
# environment variables, so this script holds no `${{ }}` expression and runs
# the same under a test harness as on a runner:
#
#   PULLSMITH_MODE            check | fix | pull-request
#   PULLSMITH_PATH            directory to process (default .)
#   PULLSMITH_RULES           rules file, empty for pullsmith's default lookup
#   PULLSMITH_COMMENT         true: in check mode on a pull request, post or
#                             update one comment holding the diff
#   PULLSMITH_BRANCH          branch of pull-request mode
#   PULLSMITH_COMMIT_MESSAGE  commit message, empty for pullsmith's summary
#   PULLSMITH_BIN             the pullsmith binary (default: pullsmith on PATH)
#   GH_TOKEN                  token for gh (comments, pull requests)
#
# and the runner's own: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH,
# GITHUB_REPOSITORY, GITHUB_HEAD_REF, GITHUB_REF, RUNNER_TEMP, ...
#
# Outputs (each one declared in action.yml; tests/cli/action.rs checks it):
# report (path of the JSON report), changed, files-changed,
# containers-changed, pod-specs-changed, commit, pull-request. The exit code is pullsmith's: in check mode 1
# when changes are needed; 2 for a usage or configuration error; 3 when some
# files could not be processed.
# shellcheck disable=SC2016 # Markdown backticks in single-quoted printf formats
set -uo pipefail

PULLSMITH="${PULLSMITH_BIN:-}"
[ -n "$PULLSMITH" ] || PULLSMITH=pullsmith
mode="${PULLSMITH_MODE:-check}"
path="${PULLSMITH_PATH:-.}"
[ -n "$path" ] || path=.
rules="${PULLSMITH_RULES:-}"
comment="${PULLSMITH_COMMENT:-false}"
branch="${PULLSMITH_BRANCH:-}"
[ -n "$branch" ] || branch=pullsmith/maintenance
message="${PULLSMITH_COMMIT_MESSAGE:-}"
repo="${GITHUB_REPOSITORY:-}"
outputs="${GITHUB_OUTPUT:-/dev/null}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"

BOT='github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>'
MARKER='<!-- pullsmith-diff -->'
MAX_COMMENT_DIFF=60000 # GitHub refuses comments over 65536 characters

say() { echo "pullsmith-action: $*"; }
warn() { echo "::warning title=pullsmith::$*"; }
die() {
    echo "::error title=pullsmith::$*"
    exit 2
}
set_output() { printf '%s=%s\n' "$1" "$2" >> "$outputs"; }

# Options before the command.
global=()
[ -n "$rules" ] && global+=(--rules "$rules")
run_pullsmith() { "$PULLSMITH" ${global[@]+"${global[@]}"} "$@"; }

# ---------------------------------------------------------------------------
# The JSON report: always written, its path is the `report` output.

if [ -n "${RUNNER_TEMP:-}" ] && [ -d "${RUNNER_TEMP:-}" ]; then
    report="$RUNNER_TEMP/pullsmith-report.json"
else
    report="$(mktemp -d "${TMPDIR:-/tmp}/pullsmith.XXXXXX")/pullsmith-report.json"
fi
rm -f "$report"
set_output report "$report"

# A number of the report's summary, read without jq or python.
report_number() {
    [ -s "$report" ] || return 0
    tr -d '\n\r' < "$report" \
        | grep -o "\"$1\"[[:space:]]*:[[:space:]]*[0-9][0-9]*" \
        | head -n 1 | grep -o '[0-9][0-9]*$'
}

# The report's commit id, or nothing.
report_commit() {
    [ -s "$report" ] || return 0
    tr -d '\n\r' < "$report" \
        | grep -o '"commit"[[:space:]]*:[[:space:]]*"[0-9a-f]*"' \
        | head -n 1 | grep -o '[0-9a-f]\{7,\}'
}

# changed / files-changed / containers-changed from the report, for when
# pullsmith did not write them itself (commit, or an early error).
outputs_from_report() {
    local files containers pods
    files="$(report_number filesChanged)"
    containers="$(report_number containersChanged)"
    pods="$(report_number podSpecsChanged)"
    [ -n "$files" ] || return 0
    [ -n "$containers" ] || containers=0
    [ -n "$pods" ] || pods=0
    if [ "$files" -gt 0 ] || [ "$containers" -gt 0 ]; then
        set_output changed true
    else
        set_output changed false
    fi
    set_output files-changed "$files"
    set_output containers-changed "$containers"
    set_output pod-specs-changed "$pods"
}

# One value of the event payload (a jq path such as .pull_request.number).
event_value() {
    local event="${GITHUB_EVENT_PATH:-}"
    [ -n "$event" ] && [ -f "$event" ] || return 0
    if command -v jq >/dev/null 2>&1; then
        jq -r "$1 // empty" "$event" 2>/dev/null || true
    elif command -v python3 >/dev/null 2>&1; then
        python3 - "$event" "$1" <<'PY' 2>/dev/null || true
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].strip(".").split("."):
    value = value.get(key) if isinstance(value, dict) else None
if value is not None and value is not False:
    print(value)
PY
    fi
}

pr_number() {
    local number
    number="$(event_value .pull_request.number)"
    if [ -z "$number" ] && [[ "${GITHUB_REF:-}" =~ ^refs/pull/([0-9]+)/ ]]; then
        number="${BASH_REMATCH[1]}"
    fi
    printf '%s' "$number"
}

# Annotations name files relative to the repository root, as GitHub wants them:
# pullsmith names every path relative to the git work tree, whatever `path` is.

# ---------------------------------------------------------------------------
# check: annotations, job summary, optional pull-request comment

# Prints the comment body for the current state (changed=true|false).
comment_body() {
    local changed="$1" files diff fence note="" sha
    files="$(report_number filesChanged)"
    if [ "$changed" = true ]; then
        diff="$(run_pullsmith --color never -q diff "$path")"
        if [ "${#diff}" -gt "$MAX_COMMENT_DIFF" ]; then
            diff="${diff:0:$MAX_COMMENT_DIFF}"
            diff="${diff%$'\n'*}"
            note=$'\n'"The diff is cut short here; the job summary and \`pullsmith diff\` have all of it."$'\n'
        fi
        fence='```'
        while [[ "$diff" == *"$fence"* ]]; do fence="$fence\`"; done
        printf '%s\n' "$MARKER" \
            "### pullsmith: ${files:-some} file(s) need image pull policy or pull secret changes" \
            "" \
            "Run \`pullsmith apply\` and push, or let the action's \`fix\` mode commit it." \
            "" \
            "${fence}diff" "$diff" "$fence" "$note"
    else
        sha="$(event_value .pull_request.head.sha)"
        [ -n "$sha" ] || sha="${GITHUB_SHA:-}"
        printf '%s\n' "$MARKER" \
            "### pullsmith: compliant" \
            "" \
            "This pull request is compliant: the rules call for no change${sha:+ (as of ${sha:0:7})}."
    fi
}

update_comment() {
    local changed="$1" number existing body
    number="$(pr_number)"
    if [ -z "$number" ]; then
        say "comment: not a pull request event; no comment"
        return 0
    fi
    [ -n "$repo" ] || die "GITHUB_REPOSITORY is not set"
    existing="$(gh api "repos/$repo/issues/$number/comments" --paginate \
        --jq ".[] | select(.body | contains(\"$MARKER\")) | .id" | sed -n 1p)" || {
        warn "could not list the comments of pull request #$number (does the token have pull-requests: write?)"
        return 0
    }
    if [ -z "$existing" ] && [ "$changed" != true ]; then
        say "comment: compliant and no earlier comment; nothing to post"
        return 0
    fi
    body="$(comment_body "$changed")"
    if [ -n "$existing" ]; then
        say "comment: updating comment $existing on pull request #$number"
        gh api -X PATCH "repos/$repo/issues/comments/$existing" -f body="$body" > /dev/null \
            || warn "could not update comment $existing on pull request #$number"
    else
        say "comment: commenting on pull request #$number"
        gh api "repos/$repo/issues/$number/comments" -f body="$body" > /dev/null \
            || warn "could not comment on pull request #$number (does the token have pull-requests: write?)"
    fi
}

run_check() {
    local before=0 rc changed
    [ -f "$outputs" ] && before="$(wc -l < "$outputs")"
    run_pullsmith --format github --report "$report" check "$path"
    rc=$?
    if ! tail -n "+$((before + 1))" "$outputs" 2>/dev/null | grep -q '^changed='; then
        outputs_from_report
    fi
    changed=false
    [ "$(report_number filesChanged)" ] && [ "$(report_number filesChanged)" -gt 0 ] && changed=true
    case "$comment" in
        true | True | TRUE | yes | 1)
            if [ "$rc" -le 1 ] || [ "$rc" -eq 3 ]; then update_comment "$changed"; fi
            ;;
    esac
    case "$rc" in
        0) say "check: compliant" ;;
        1) say "check: changes are needed (exit 1)" ;;
        *) say "check: pullsmith exited $rc" ;;
    esac
    return "$rc"
}

# ---------------------------------------------------------------------------
# fix and pull-request: one commit by pullsmith, then push

# pullsmith commit --branch $1; sets $commit (empty when nothing was
# committed) and the outputs; returns pullsmith's exit code (3 can come with a
# commit of the files that could be processed).
commit=""
make_commit() {
    local target="$1" out rc
    shift
    local args=(--report "$report" commit --branch "$target" "$@" --author "$BOT")
    [ -n "$message" ] && args+=(--message "$message")
    out="$(run_pullsmith "${args[@]}" "$path")"
    rc=$?
    [ -n "$out" ] && printf '%s\n' "$out"
    [ "$rc" -eq 0 ] || say "pullsmith commit exited $rc"
    commit="$(printf '%s\n' "$out" | sed -n 's/^pullsmith: committed \([0-9a-f][0-9a-f]*\).*/\1/p' | sed -n 1p)"
    [ -n "$commit" ] || commit="$(report_commit)"
    if [ -n "$commit" ]; then
        set_output changed true
        set_output files-changed "$(report_number filesChanged)"
        set_output containers-changed "$(report_number containersChanged)"
        set_output pod-specs-changed "$(report_number podSpecsChanged)"
    elif [ "$rc" -eq 0 ]; then
        # No commit: compliant, or (pull-request) the branch already holds the
        # rewrite, whose counts the report keeps.
        set_output changed false
        set_output files-changed "$(report_number filesChanged)"
        set_output containers-changed "$(report_number containersChanged)"
        set_output pod-specs-changed "$(report_number podSpecsChanged)"
    else
        outputs_from_report
    fi
    set_output commit "$commit"
    return "$rc"
}

git_() { git -C "$path" "$@"; }

run_fix() {
    local target head_repo current head_sha rc
    target="$(event_value .pull_request.head.ref)"
    [ -n "$target" ] || target="${GITHUB_HEAD_REF:-}"
    current="$(git_ symbolic-ref --short -q HEAD || true)"
    [ -n "$target" ] || target="$current"
    [ -n "$target" ] || die "fix mode needs a pull_request event (or a checked-out branch) to know where to push"

    head_repo="$(event_value .pull_request.head.repo.full_name)"
    if [ -n "$head_repo" ] && [ -n "$repo" ] && [ "$head_repo" != "$repo" ]; then
        warn "pull request from the fork $head_repo: its branch cannot be pushed to from here; checking instead"
        run_check
        return
    fi

    if [ -z "$current" ]; then
        head_sha="$(event_value .pull_request.head.sha)"
        if [ -n "$head_sha" ] && [ "$(git_ rev-parse HEAD)" != "$head_sha" ]; then
            die "HEAD is detached at $(git_ rev-parse --short HEAD), not at the pull request's head ${head_sha:0:7} (the merge commit?): use actions/checkout with ref: \${{ github.head_ref }}"
        fi
        say "fix: HEAD is detached; git checkout -B $target"
        git_ checkout -q -B "$target" || die "git checkout -B $target failed"
    elif [ "$current" != "$target" ]; then
        die "HEAD is on branch $current, not on the pull request's branch $target: use actions/checkout with ref: \${{ github.head_ref }}"
    fi

    make_commit "$target"
    rc=$?
    if [ -z "$commit" ]; then
        [ "$rc" -ne 0 ] && return "$rc"
        say "fix: compliant; nothing to commit or push"
        printf '### pullsmith\n\n`%s` is compliant: nothing to commit.\n' "$target" >> "$summary"
        return 0
    fi
    say "fix: git push origin HEAD:refs/heads/$target"
    git_ push origin "HEAD:refs/heads/$target" || die "git push to $target failed (does the workflow have contents: write?)"
    printf '### pullsmith\n\nCommitted %s (%s file(s), %s container(s)) to `%s` and pushed it.\n' \
        "$commit" "$(report_number filesChanged)" "$(report_number containersChanged)" "$target" >> "$summary"
    return "$rc"
}

# pull-request: the rewrite of the checked-out base, committed on `branch`
# and pushed only when its tree differs from the remote branch's, so a re-run
# on an unchanged repository pushes nothing (no new CI run, no dismissed
# approval) and leaves the open pull request alone. HEAD, the index and the
# work tree stay as the workflow left them: the local branch is set to the
# remote one (or to HEAD when there is none) and `pullsmith commit
# --reset-branch` rebuilds it beside HEAD, or says that it already holds the
# rewrite.
run_pull_request() {
    local base title details body line number url run_url rc remote_sha had_local before after lease
    base="$(git_ symbolic-ref --short -q HEAD || true)"
    [ -n "$base" ] || base="${GITHUB_REF_NAME:-}"
    [ -n "$base" ] || base="$(event_value .repository.default_branch)"
    [ -n "$base" ] || die "cannot tell the base branch: HEAD is detached and GITHUB_REF_NAME is not set"
    [ "$base" != "$branch" ] || die "HEAD is on $branch itself; check out the base branch instead"
    [ -n "$repo" ] || die "GITHUB_REPOSITORY is not set"

    # Where the remote branch is: the tree to compare with, and the lease of the push.
    remote_sha="$(git_ ls-remote origin "refs/heads/$branch")" \
        || die "git ls-remote origin failed (can the workflow read the repository?)"
    remote_sha="${remote_sha%%[[:space:]]*}"
    had_local=false
    git_ show-ref --verify -q "refs/heads/$branch" && had_local=true
    if [ -n "$remote_sha" ]; then
        local depth=()
        [ "$(git_ rev-parse --is-shallow-repository)" = true ] && depth=(--depth=1)
        git_ fetch -q ${depth[@]+"${depth[@]}"} origin "+refs/heads/$branch:refs/remotes/origin/$branch" \
            || die "git fetch of $branch failed"
        git_ branch -q -f "$branch" "$remote_sha" || die "could not set the local branch $branch to origin's"
    else
        git_ branch -q -f "$branch" HEAD || die "could not create the local branch $branch"
    fi
    before="$(git_ rev-parse "refs/heads/$branch")"

    make_commit "$branch" --reset-branch
    rc=$?
    after="$(git_ rev-parse -q --verify "refs/heads/$branch" || true)"
    if [ -z "$commit" ] || [ "$after" = "$before" ]; then
        [ "$had_local" = true ] || [ -n "$remote_sha" ] || git_ branch -q -D "$branch" 2>/dev/null || true
        [ "$rc" -ne 0 ] && return "$rc"
        if [ -z "$remote_sha" ] || [ "$(report_number filesChanged)" = 0 ]; then
            say "pull-request: compliant; no push and no pull request"
            printf '### pullsmith\n\n`%s` is compliant: no pull request needed.\n' "$base" >> "$summary"
            return 0
        fi
        # The remote branch already holds this rewrite: nothing is pushed, and
        # an open pull request is left as it is (a closed one is opened again).
        say "pull-request: $branch already holds this rewrite of $base; nothing pushed"
        commit=""
    else
        lease="refs/heads/$branch:$remote_sha"
        say "pull-request: git push --force-with-lease origin $branch"
        git_ push -q --force-with-lease="$lease" origin "refs/heads/$branch:refs/heads/$branch" \
            || die "git push to $branch failed (does the workflow have contents: write? did someone else push to it?)"
    fi

    line="$(gh pr list --repo "$repo" --head "$branch" --state open --json number,url \
        --jq '.[0] // empty | "\(.number) \(.url // "")"')" \
        || die "gh pr list failed (does the token have pull-requests: write?)"
    number="${line%% *}"
    url="${line#* }"
    [ -n "$number" ] && [ -z "$url" ] && url="${GITHUB_SERVER_URL:-https://github.com}/$repo/pull/$number"
    if [ -z "$commit" ] && [ -n "$number" ]; then
        say "pull-request: pull request #$number is open and up to date; left alone"
        set_output pull-request "$url"
        printf '### pullsmith\n\n`%s` already holds the rewrite of `%s`: nothing pushed; pull request %s is up to date.\n' \
            "$branch" "$base" "$url" >> "$summary"
        return "$rc"
    fi

    local tip="${commit:-$after}"
    title="$(git_ log -1 --format=%s "$tip")"
    details="$(git_ log -1 --format=%b "$tip")"
    run_url=""
    if [ -n "${GITHUB_RUN_ID:-}" ]; then
        run_url="${GITHUB_SERVER_URL:-https://github.com}/$repo/actions/runs/$GITHUB_RUN_ID"
    fi
    body="$(printf '%s\n' \
        "pullsmith set image pull policies and pull secrets as the rules call for." \
        "" '```text' "$details" '```' "" \
        "Made by the pullsmith GitHub Action${run_url:+ in [this run]($run_url)}." \
        "The branch \`$branch\` is rebuilt from \`$base\` when the rewrite changes: changes pushed to it are replaced.")"

    if [ -n "$number" ]; then
        say "pull-request: updating pull request #$number"
        gh pr edit "$number" --repo "$repo" --title "$title" --body "$body" > /dev/null || die "gh pr edit failed"
    else
        say "pull-request: opening a pull request from $branch into $base"
        url="$(gh pr create --repo "$repo" --head "$branch" --base "$base" --title "$title" --body "$body")" \
            || die "gh pr create failed (is \"Allow GitHub Actions to create and approve pull requests\" on?)"
        printf '%s\n' "$url"
    fi
    set_output pull-request "$url"
    if [ -n "$commit" ]; then
        printf '### pullsmith\n\nCommitted %s (%s file(s)) to `%s` and pushed it: pull request %s.\n' \
            "$commit" "$(report_number filesChanged)" "$branch" "$url" >> "$summary"
    else
        printf '### pullsmith\n\n`%s` already held the rewrite: nothing pushed; opened pull request %s.\n' \
            "$branch" "$url" >> "$summary"
    fi
    return "$rc"
}

# ---------------------------------------------------------------------------

say "mode $mode, path $path${rules:+, rules $rules}"
case "$mode" in
    check) run_check ;;
    fix) run_fix ;;
    pull-request) run_pull_request ;;
    *) die "unknown mode '$mode' (check, fix or pull-request)" ;;
esac
