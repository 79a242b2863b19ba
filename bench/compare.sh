#!/usr/bin/env bash
# Whole-process import against calamine (issue 15, item 7): what a person waits for after
# `spotcheck import` (start-up, migrations of a fresh database, parsing, storing, rescoring,
# the final checkpoint), side by side with the smallest program that reads the same file with
# calamine's `worksheet_range` (examples/calamine_read.rs, the reference, 1.0).
#
#     bash bench/compare.sh                       # 5 runs per scenario, 3 of the 1M one
#     bash bench/compare.sh --runs 3 --big-runs 1
#     bash bench/compare.sh --skip-big --skip-pg
#
# Options: --runs N (default 5), --big-runs N (default 3), --skip-big, --skip-pg,
# --rows N (default 100000), --big-rows N (default 1000000), --keep (keep the temp folder).
# PostgreSQL: SPOTCHECK_BENCH_PG_ADMIN (default postgres://postgres@127.0.0.1:5432/test) is
# where a fresh database is created and dropped for every run.
#
# Every scenario runs the reference and ours alternately (reference, ours, reference, ours …),
# each run as its own process under GNU time (`/usr/bin/time -f '%e %M %U %S'`: wall
# seconds, peak resident set in KiB, user and system CPU seconds), every spotcheck run on a
# fresh data folder (and, on PostgreSQL, a fresh database), so migrations are part of each
# run, and every SQLite run must end with its database whole (no write-ahead log left: the
# final checkpoint is part of what ours costs). The table gives medians and their ratios. Nothing here asserts a timing; the machine
# may be shared, so the load average is printed before and after.
#
# Needs cargo (Rust 1.95+) and a C compiler; installs with apt-get what else is missing: the
# build's libraries (as .ci/run), python3, GNU time (/usr/bin/time) and, when PostgreSQL is
# measured, its client (psql). PostgreSQL itself must be running (.ci/run starts it); when
# it does not answer, that scenario is left out and the script says so.
set -euo pipefail

RUNS=5
BIG_RUNS=3
SKIP_BIG=0
SKIP_PG=0
ROWS=100000
BIG_ROWS=1000000
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --big-runs) BIG_RUNS="$2"; shift 2 ;;
        --skip-big) SKIP_BIG=1; shift ;;
        --skip-pg) SKIP_PG=1; shift ;;
        --rows) ROWS="$2"; shift 2 ;;
        --big-rows) BIG_ROWS="$2"; shift 2 ;;
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

# What a fresh machine of this kind may lack (the build's libraries as in .ci/run, GNU time,
# the PostgreSQL client), installed in one go.
need=()
for pkg in libpq-dev libssl-dev pkg-config python3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ -x /usr/bin/time ] || need+=(time)
if [ "$SKIP_PG" -eq 0 ] && ! command -v psql >/dev/null; then need+=(postgresql-client); fi
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
if [ "$SKIP_PG" -eq 0 ] && ! pg_answers "$PG_ADMIN"; then
    echo "PostgreSQL at $PG_ADMIN does not answer: leaving the PostgreSQL scenario out" >&2
    SKIP_PG=1
fi

# ---- build ---------------------------------------------------------------------------------
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
echo "building spotcheck and the examples in release (target: $TARGET)" >&2
# Two invocations: the binary as `cargo build --release` builds it, without the features the
# dev-dependencies (which examples may use) would add to shared crates.
cargo build --release --quiet --bin spotcheck >&2
cargo build --release --quiet --example calamine_read --example make_register --example import_only >&2
SPOTCHECK="$TARGET/release/spotcheck"
REFERENCE="$TARGET/release/examples/calamine_read"
MAKE_REGISTER="$TARGET/release/examples/make_register"
IMPORT_ONLY="$TARGET/release/examples/import_only"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/spotcheck-compare.XXXXXX")"
PG_DBS=()
cleanup() {
    for db in "${PG_DBS[@]}"; do
        psql "$PG_ADMIN" -Atqc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
    if [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

# ---- the machine ---------------------------------------------------------------------------
echo "== machine"
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
echo "cpus:     $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "os:       $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "rustc:    $(rustc --version)"
echo "postgres: $([ "$SKIP_PG" -eq 0 ] && psql "$PG_ADMIN" -Atqc 'show server_version' || echo 'not measured')"
echo "runs:     $RUNS per scenario (reference and ours alternately)$([ "$SKIP_BIG" -eq 0 ] && echo ", $BIG_RUNS for $BIG_ROWS rows")"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before"

# ---- the registers -------------------------------------------------------------------------
REG="$WORK/register-$ROWS.xlsx"
"$MAKE_REGISTER" "$ROWS" "$REG"
echo "register: $ROWS rows x 13 columns, $(du -b "$REG" | awk '{printf "%.1f MB", $1 / 1e6}') xlsx (fixed seed, benches/common/register.rs)"
if [ "$SKIP_BIG" -eq 0 ]; then
    BIG="$WORK/register-$BIG_ROWS.xlsx"
    "$MAKE_REGISTER" "$BIG_ROWS" "$BIG"
    echo "register: $BIG_ROWS rows x 13 columns, $(du -b "$BIG" | awk '{printf "%.1f MB", $1 / 1e6}') xlsx"
fi

# ---- measuring -----------------------------------------------------------------------------
RUN_NO=0
# measure SAMPLES_FILE LOG CMD...: runs CMD once under GNU time; appends "wall kib user sys".
measure() {
    local samples="$1" log="$2"
    shift 2
    RUN_NO=$((RUN_NO + 1))
    # What earlier runs (and the registers just generated) left for the kernel to write goes
    # to disk first, untimed, so no run pays for another's writes; each still pays for its own.
    sync
    if ! /usr/bin/time -f '%e %M %U %S' -o "$WORK/time.$RUN_NO" "$@" >>"$log" 2>&1; then
        echo "failed: $* (output in $log):" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    tail -1 "$WORK/time.$RUN_NO" >>"$samples"
}

# A fresh data folder for one spotcheck run, in DIR.
fresh_dir() {
    RUN_NO=$((RUN_NO + 1))
    DIR="$WORK/data.$RUN_NO"
    mkdir -p "$DIR"
}

# A fresh PostgreSQL database for one run, its URL in URL.
fresh_pg() {
    RUN_NO=$((RUN_NO + 1))
    local db="spotcheck_compare_$$_$RUN_NO"
    psql "$PG_ADMIN" -Atqc "CREATE DATABASE $db" >/dev/null
    PG_DBS+=("$db")
    URL="${PG_ADMIN%/*}/$db"
}
drop_pg() {
    psql "$PG_ADMIN" -Atqc "DROP DATABASE IF EXISTS ${1##*/}" >/dev/null
}

# The environment of a spotcheck run: only the data folder (and database) set here.
# The upload limit (50 MB by default) is raised for the 1M-row register (81 MB).
CLEAN_ENV=(env -u SPOTCHECK_CONFIG -u SPOTCHECK_RULES_DIR -u SPOTCHECK_DATABASE_URL -u SPOTCHECK_USER
    -u SPOTCHECK_LOG_FORMAT -u RUST_LOG -u RUST_BACKTRACE SPOTCHECK_MAX_UPLOAD_BYTES=1073741824)

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

RESULTS="$WORK/results"
: >"$RESULTS"
# scenario NAME FILE N OURS_FN: N alternating rounds of the reference on FILE and OURS_FN FILE.
scenario() {
    local name="$1" file="$2" n="$3" ours="$4"
    local key
    key="$(echo "$name" | tr -c 'a-zA-Z0-9' '_')"
    local ref_samples="$WORK/$key.ref" our_samples="$WORK/$key.ours" log="$WORK/$key.log"
    : >"$ref_samples"
    : >"$our_samples"
    echo "-- $name: $n rounds" >&2
    for ((i = 1; i <= n; i++)); do
        measure "$ref_samples" "$log" "$REFERENCE" "$file"
        "$ours" "$our_samples" "$log" "$file"
        echo "   round $i: reference $(tail -1 "$ref_samples" | awk '{print $1}') s, ours $(tail -1 "$our_samples" | awk '{print $1}') s" >&2
    done
    local rt rm ot om rc oc
    rt="$(awk '{print $1}' "$ref_samples" | median)"
    rm="$(awk '{print $2 / 1024}' "$ref_samples" | median)"
    ot="$(awk '{print $1}' "$our_samples" | median)"
    om="$(awk '{print $2 / 1024}' "$our_samples" | median)"
    rc="$(awk '{print $3 + $4}' "$ref_samples" | median)"
    oc="$(awk '{print $3 + $4}' "$our_samples" | median)"
    echo "$name|$rt|$ot|$rm|$om|$rc|$oc" >>"$RESULTS"
    # What ours said the last time (so a run that imported nothing cannot pass unnoticed).
    # (examples/import_only reports in English, `spotcheck import` in Norwegian.)
    grep -E '^rows:|imported|batch|^rader:|importert' "$log" | tail -1 | sed "s/^/   last report: /" >&2 || true
}

# A run that ended before its final checkpoint would look faster than what it costs (the
# copying left to whatever opens the database next): ours must leave no write-ahead log.
whole_database() {
    if [ -s "$DIR/spotcheck.db-wal" ]; then
        echo "failed: $(du -b "$DIR/spotcheck.db-wal" | cut -f1) bytes of write-ahead log left in $DIR" >&2
        exit 1
    fi
}
LAST_SQLITE_DIR=""
ours_store_only() {
    fresh_dir
    measure "$1" "$2" "${CLEAN_ENV[@]}" SPOTCHECK_DATA_DIR="$DIR" "$IMPORT_ONLY" "$3"
    whole_database
    rm -rf "$DIR"
}
ours_sqlite() {
    fresh_dir
    measure "$1" "$2" "${CLEAN_ENV[@]}" SPOTCHECK_DATA_DIR="$DIR" "$SPOTCHECK" import "$3"
    whole_database
    [ -z "$LAST_SQLITE_DIR" ] || rm -rf "$LAST_SQLITE_DIR"
    LAST_SQLITE_DIR="$DIR"
}
LAST_PG_URL=""
ours_pg() {
    fresh_dir
    fresh_pg
    measure "$1" "$2" "${CLEAN_ENV[@]}" SPOTCHECK_DATA_DIR="$DIR" SPOTCHECK_DATABASE_URL="$URL" \
        "$SPOTCHECK" import "$3"
    rm -rf "$DIR"
    [ -z "$LAST_PG_URL" ] || drop_pg "$LAST_PG_URL"
    LAST_PG_URL="$URL"
}

scenario "store only, SQLite, $ROWS rows (1)" "$REG" "$RUNS" ours_store_only
scenario "import + rescore, SQLite, $ROWS rows" "$REG" "$RUNS" ours_sqlite
if [ "$SKIP_PG" -eq 0 ]; then
    scenario "import + rescore, PostgreSQL, $ROWS rows" "$REG" "$RUNS" ours_pg
fi
if [ "$SKIP_BIG" -eq 0 ]; then
    scenario "store only, SQLite, $BIG_ROWS rows (1)" "$BIG" "$BIG_RUNS" ours_store_only
fi

# ---- stored size ---------------------------------------------------------------------------
# The SQLite database of the last `spotcheck import` run, its write-ahead log copied in and
# emptied, divided by the contracts it holds (each with its assessment).
SIZE_LINES="$(python3 - "$LAST_SQLITE_DIR/spotcheck.db" <<'EOF'
import os, sqlite3, sys
path = sys.argv[1]
con = sqlite3.connect(path)
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
q = lambda sql: con.execute(sql).fetchone()[0]
contracts, assessments = q("SELECT count(*) FROM contracts"), q("SELECT count(*) FROM assessments")
pages, page_size, free = q("PRAGMA page_count"), q("PRAGMA page_size"), q("PRAGMA freelist_count")
con.close()
size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
print(f"SQLite after one import + rescore: {size:,} bytes ({pages:,} pages of {page_size}, {free:,} free), "
      f"{contracts:,} contracts, {assessments:,} assessments")
print(f"per contract with its assessment: {size / max(contracts, 1):,.0f} bytes (target <= 1,000)")
try:
    con = sqlite3.connect(path)
    rows = con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8").fetchall()
    con.close()
    print("largest tables and indexes (bytes per contract): " + ", ".join(
        f"{name} {b / max(contracts, 1):,.0f}" for name, b in rows))
except sqlite3.Error as e:
    print(f"(no breakdown: {e})")
EOF
)"
if [ "$SKIP_PG" -eq 0 ] && [ -n "$LAST_PG_URL" ]; then
    PG_LINE="$(psql "$LAST_PG_URL" -Atqc "select pg_database_size(current_database()), (select count(*) from contracts), (select pg_database_size('template1'))" |
        awk -F'|' '{printf "PostgreSQL after one import + rescore: %d bytes (an empty database: %d), %d contracts; per contract, net of the empty database: %.0f bytes", $1, $3, $2, ($1 - $3) / ($2 > 0 ? $2 : 1)}')"
fi

# ---- the table -----------------------------------------------------------------------------
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after"
echo
echo "== whole processes, median of the runs (reference: examples/calamine_read, worksheet_range)"
printf '%-42s %7s %7s %7s %8s %8s %7s %7s %7s %7s\n' "scenario" "ref s" "ours s" "time" \
    "ref MiB" "our MiB" "memory" "ref cpu" "our cpu" "cpu"
while IFS='|' read -r name rt ot rm om rc oc; do
    awk -v n="$name" -v rt="$rt" -v ot="$ot" -v rm="$rm" -v om="$om" -v rc="$rc" -v oc="$oc" 'BEGIN {
        printf "%-42s %7.2f %7.2f %6.2fx %8.1f %8.1f %6.2fx %7.2f %7.2f %6.2fx\n",
            n, rt, ot, ot / rt, rm, om, om / rm, rc, oc, oc / (rc > 0 ? rc : 0.01) }'
done <"$RESULTS"
echo "(s: wall seconds; MiB: peak resident set; cpu: user + system seconds, all threads)"
SMALL_STORE_PEAK="$(grep "^store only, SQLite, $ROWS rows" "$RESULTS" | cut -d'|' -f5)"
BIG_STORE_PEAK="$(grep "^store only, SQLite, $BIG_ROWS rows" "$RESULTS" | cut -d'|' -f5 || true)"
if [ -n "$BIG_STORE_PEAK" ]; then
    awk -v b="$BIG_STORE_PEAK" -v s="$SMALL_STORE_PEAK" -v bn="$BIG_ROWS" -v sn="$ROWS" 'BEGIN {
        printf "store only: peak at %s rows / peak at %s rows: %.2fx (target <= 1.5)\n", bn, sn, b / s }'
fi
echo "(1) store only: examples/import_only, i.e. \`spotcheck import\` without the rule set and the"
echo "    rescoring (the command line always scores: the built-in rule set or SPOTCHECK_RULES_DIR)."
echo
echo "== stored size"
echo "$SIZE_LINES"
[ -z "${PG_LINE:-}" ] || echo "$PG_LINE"
