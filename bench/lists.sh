#!/usr/bin/env bash
# Lists under load (issue 15, item 6): the contract list through the API (page 1, page 400 by
# number, page 400 by cursor) and the /contracts page (page 1 and 400), each under 50
# concurrent clients (ApacheBench, keep-alive, loopback), side by side with /healthz on the
# same server, on SQLite and on PostgreSQL, over a register of 100 000 scored contracts.
#
#     bash bench/lists.sh                                   # build, both databases, 100 000 rows
#     bash bench/lists.sh --rows 1000000 --skip-pg
#     bash bench/lists.sh --bin /tmp/old/target/release/spotcheck --label before
#
# Options: --rows N (default 100000), --seconds S per measurement (default 10), --rounds N
# (default 2), --concurrency N (default 50), --skip-pg, --bin PATH (measure this spotcheck
# binary instead of building one: for a before/after comparison with an older tree),
# --label TEXT (printed with every figure), --keep (keep the temp folder).
# PostgreSQL: SPOTCHECK_BENCH_PG_ADMIN (default postgres://postgres@127.0.0.1:5432/test) is
# where a fresh database is created, and dropped afterwards, for each run.
#
# Per database: a fresh data folder (and database), `spotcheck import` of the register (it
# scores the contracts), a Kemneren user with an API token, `spotcheck serve` with the
# background workers off (no register look-ups, no mail), a browser session for the page.
# Then, `--rounds` times, every scenario in turn (healthz, the API's pages, the HTML pages):
# `ab -k -c 50 -t S`. Printed per run and as medians over the rounds: requests per second,
# the median and 99th percentile latency (ms), and how many answers were not 2xx (503s
# under overload). A page 400 by cursor is the `next_cursor` of page 399; a build without
# cursors shows "n/a". Nothing here asserts a timing; the machine may be shared, so the load
# average is printed before and after.
#
# Needs cargo (unless --bin), curl, python3; installs ApacheBench (Debian apache2-utils)
# with apt-get when `ab` is missing.
set -euo pipefail

ROWS=100000
SECS=10
ROUNDS=2
CONC=50
SKIP_PG=0
BIN=""
LABEL=""
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --seconds) SECS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --concurrency) CONC="$2"; shift 2 ;;
        --skip-pg) SKIP_PG=1; shift ;;
        --bin) BIN="$2"; shift 2 ;;
        --label) LABEL="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
PG_ADMIN="${SPOTCHECK_BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# shellcheck source=bench/common.sh
. "$REPO/bench/common.sh"
need=()
command -v ab >/dev/null || need+=(apache2-utils)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ "$SKIP_PG" -eq 0 ] && ! command -v psql >/dev/null; then need+=(postgresql-client); fi
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
if [ "$SKIP_PG" -eq 0 ] && ! pg_answers "$PG_ADMIN"; then
    echo "PostgreSQL at $PG_ADMIN does not answer: leaving PostgreSQL out" >&2
    SKIP_PG=1
fi

# ---- build ---------------------------------------------------------------------------------
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
if [ -z "$BIN" ]; then
    echo "building spotcheck in release (target: $TARGET)" >&2
    cargo build --release --quiet --bin spotcheck >&2
    BIN="$TARGET/release/spotcheck"
fi
MAKE_REGISTER="$TARGET/release/examples/make_register"
[ -x "$MAKE_REGISTER" ] || cargo build --release --quiet --example make_register >&2

WORK="$(mktemp -d "${TMPDIR:-/tmp}/spotcheck-lists.XXXXXX")"
PG_DBS=()
SERVER=""
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    for db in "${PG_DBS[@]}"; do
        psql "$PG_ADMIN" -Atqc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    if [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

echo "== machine${LABEL:+ ($LABEL)}"
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "binary:   $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown) (the script's tree)"
echo "cpus:     $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo "ab:       $(ab -V | head -1)"
echo "postgres: $([ "$SKIP_PG" -eq 0 ] && psql "$PG_ADMIN" -Atqc 'show server_version' || echo 'not measured')"
echo "runs:     $ROUNDS rounds x ${SECS} s per scenario, $CONC concurrent clients, keep-alive"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before"

REG="$WORK/register-$ROWS.xlsx"
"$MAKE_REGISTER" "$ROWS" "$REG" 2>&1 | sed 's/^/register: /'

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ab's figures as: rps p50 p99 non2xx complete
ab_run() {
    local out="$1"
    shift
    ab -k -q -c "$CONC" -t "$SECS" -n 100000000 -s 120 "$@" >"$out" 2>&1 || true
    python3 - "$out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def grab(pattern, default="?"):
    m = re.search(pattern, text, re.M)
    return m.group(1) if m else default
print(grab(r"^Requests per second:\s+([\d.]+)"), grab(r"^\s*50%\s+(\d+)"), grab(r"^\s*99%\s+(\d+)"),
      grab(r"^Non-2xx responses:\s+(\d+)", "0"), grab(r"^Complete requests:\s+(\d+)", "0"))
EOF
}

RESULTS="$WORK/results.txt"
: >"$RESULTS"

run_backend() {
    local backend="$1"
    local data="$WORK/data-$backend"
    mkdir -p "$data"
    export SPOTCHECK_DATA_DIR="$data"
    unset SPOTCHECK_DATABASE_URL
    if [ "$backend" = postgresql ]; then
        local db="spotcheck_lists_$$_${#PG_DBS[@]}"
        psql "$PG_ADMIN" -Atqc "CREATE DATABASE $db" >/dev/null
        PG_DBS+=("$db")
        export SPOTCHECK_DATABASE_URL="${PG_ADMIN%/*}/$db"
    fi
    export SPOTCHECK_ENRICH_POLL_SECONDS=0 SPOTCHECK_MAIL_POLL_SECONDS=0 SPOTCHECK_RULES_POLL_SECONDS=0
    export SPOTCHECK_ADMIN_PASSWORD="bench-admin-passord-1" RUST_LOG=warn
    echo
    echo "== $backend${LABEL:+ ($LABEL)}"
    local started=$SECONDS
    "$BIN" import "$REG" >"$WORK/import-$backend.txt" 2>&1 || { cat "$WORK/import-$backend.txt"; exit 1; }
    echo "import:   $ROWS rows stored and scored in $((SECONDS - started)) s"
    if [ "$backend" = postgresql ]; then
        # Statistics as autovacuum would have them shortly after an import, not left to chance.
        psql "$SPOTCHECK_DATABASE_URL" -Atqc 'ANALYZE' >/dev/null
    fi
    SPOTCHECK_PASSWORD="bench-passord-123" "$BIN" users add bench --role kemner >/dev/null 2>&1
    local token
    token="$("$BIN" users token bench 2>/dev/null | tail -1)"
    local port
    port="$(free_port)"
    local base="http://127.0.0.1:$port"
    SPOTCHECK_BIND="127.0.0.1:$port" "$BIN" serve >"$WORK/serve-$backend.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 600); do
        curl -fs "$base/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    # A browser session: the login form's CSRF cookie and field, then the form.
    local jar="$WORK/cookies-$backend"
    local csrf
    csrf="$(curl -fs -c "$jar" "$base/login" | python3 -c 'import re, sys; print(re.search(r"name=\"csrf_token\" value=\"([^\"]+)\"", sys.stdin.read()).group(1))')"
    curl -fs -b "$jar" -c "$jar" -o /dev/null --data-urlencode "username=bench" \
        --data-urlencode "password=bench-passord-123" --data-urlencode "csrf_token=$csrf" "$base/login"
    local session
    session="$(awk '$6 == "spotcheck_session" {print $7}' "$jar")"
    [ -n "$session" ] || { echo "could not sign in" >&2; exit 1; }
    local cursor
    cursor="$(curl -fs -H "Authorization: Bearer $token" "$base/api/v1/contracts?page=399" |
        python3 -c 'import json, sys; print(json.load(sys.stdin).get("next_cursor") or "")')"
    local total
    total="$(curl -fs -H "Authorization: Bearer $token" "$base/api/v1/contracts?per_page=1" |
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["total"], "(exact)" if d.get("total_exact", True) else "(more than)")')"
    echo "contracts: $total listed as total by GET /api/v1/contracts"
    local scenarios=(
        "healthz|/healthz|none"
        "api page 1|/api/v1/contracts|token"
        "api page 400|/api/v1/contracts?page=400|token"
        "api cursor p400|/api/v1/contracts?cursor=$cursor|token"
        "html page 1|/contracts|cookie"
        "html page 400|/contracts?page=400|cookie"
    )
    for s in "${scenarios[@]}"; do
        IFS='|' read -r name path auth <<<"$s"
        local code
        case "$auth" in
            token) code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base$path")" ;;
            cookie) code="$(curl -s -o /dev/null -w '%{http_code}' -b "spotcheck_session=$session" "$base$path")" ;;
            *) code="$(curl -s -o /dev/null -w '%{http_code}' "$base$path")" ;;
        esac
        echo "check:    $name -> HTTP $code"
    done
    printf '%-16s %-6s %10s %8s %8s %8s %9s\n' scenario round "req/s" "p50 ms" "p99 ms" "non-2xx" complete
    for round in $(seq 1 "$ROUNDS"); do
        for s in "${scenarios[@]}"; do
            IFS='|' read -r name path auth <<<"$s"
            if [ "$name" = "api cursor p400" ] && [ -z "$cursor" ]; then
                printf '%-16s %-6s %10s\n' "$name" "$round" "n/a (no cursors in this build)"
                continue
            fi
            local args=()
            case "$auth" in
                token) args=(-H "Authorization: Bearer $token") ;;
                cookie) args=(-C "spotcheck_session=$session") ;;
            esac
            local figures
            figures="$(ab_run "$WORK/ab.txt" "${args[@]}" "$base$path")"
            read -r rps p50 p99 non2xx complete <<<"$figures"
            printf '%-16s %-6s %10s %8s %8s %8s %9s\n' "$name" "$round" "$rps" "$p50" "$p99" "$non2xx" "$complete"
            echo "$backend|$name|$rps|$p50|$p99|$non2xx|$complete" >>"$RESULTS"
        done
    done
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
}

run_backend sqlite
[ "$SKIP_PG" -eq 1 ] || run_backend postgresql

echo
echo "== medians over $ROUNDS rounds${LABEL:+ ($LABEL)}: $ROWS contracts, $CONC clients, ${SECS} s each"
python3 - "$RESULTS" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
groups = {}
for backend, name, rps, p50, p99, non2xx, complete in rows:
    groups.setdefault((backend, name), []).append((rps, p50, p99, non2xx, complete))
def med(vals):
    nums = [float(v) for v in vals if v not in ("?", "")]
    return statistics.median(nums) if nums else float("nan")
print(f"| database | scenario | req/s | p50 ms | p99 ms | non-2xx / answered |")
print(f"|---|---|---:|---:|---:|---:|")
for (backend, name), runs in groups.items():
    rps = med(r[0] for r in runs)
    p50 = med(r[1] for r in runs)
    p99 = med(r[2] for r in runs)
    non2xx = sum(int(r[3]) for r in runs)
    complete = sum(int(r[4]) for r in runs)
    print(f"| {backend} | {name} | {rps:,.0f} | {p50:,.0f} | {p99:,.0f} | {non2xx:,} / {complete:,} |")
EOF
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after"
