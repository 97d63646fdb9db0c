#!/usr/bin/env bash
# Where runbook stands against the tools people would use instead, on this machine, in one
# table. Each figure is measured side by side with its baseline in the same run: the two
# commands take turns, round after round, and the table shows each one's median with the
# spread (fastest..slowest) and the ratio of the medians. Absolute times on shared machines
# move ±30% between runs; the ratios are what to read.
#
#   bash bench/all.sh [--small] [--tripwire]
#
#   --small     smaller inputs and fewer rounds (a minute or two instead of ten)
#   --tripwire  exit 1 when a figure is more than 5 times past its goal: far beyond noise,
#               so it fails only on a real regression. CI runs `--small --tripwire`.
set -euo pipefail
cd "$(dirname "$0")/.."

small=false
tripwire=false
for arg in "$@"; do
    case "$arg" in
        --small) small=true ;;
        --tripwire) tripwire=true ;;
        *) echo "usage: bash bench/all.sh [--small] [--tripwire]" >&2; exit 2 ;;
    esac
done
if $small; then
    rounds=5 lint_steps=2000 folder=200 flood_mb=100 restore_mb=64 big=(2000 10000 40000)
else
    rounds=15 lint_steps=10000 folder=1000 flood_mb=1000 restore_mb=1024 big=(10000 50000 200000)
fi

[ -x /usr/bin/time ] || { echo "GNU time is needed for peak memory (apt-get install time)" >&2; exit 2; }
cargo build --release --locked --quiet
rb=$PWD/target/release/runbook
out=$PWD/bench/out/all
rm -rf "$out"
mkdir -p "$out"
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

just=$(command -v just || true)
# A wrapper script in front of just (pyenv's shim, say) would time an interpreter starting,
# not just: only the binary itself is a fair baseline.
if [ -n "$just" ] && [ "$(head -c 4 "$just" | od -An -c | tr -d ' ')" != "177ELF" ]; then
    just=
fi
if [ -z "$just" ]; then
    # `just` ships as a wheel on PyPI; install it beside the bench, not on the system.
    [ -x bench/out/just/bin/just ] || python3 -m pip install --quiet --disable-pip-version-check --target bench/out/just rust-just
    just=$PWD/bench/out/just/bin/just
fi

now_ns() { date +%s%N; }

# Runs `$1` and `$2` in turn, $3 rounds (after one warm-up each), and sets A and B to
# "median min max" in milliseconds.
pair() {
    local a=$1 b=$2 n=$3 ta=() tb=() t0 t1 t2
    eval "$a" > /dev/null 2>&1 || true
    eval "$b" > /dev/null 2>&1 || true
    for _ in $(seq 1 "$n"); do
        t0=$(now_ns); eval "$a" > /dev/null 2>&1 || true; t1=$(now_ns)
        eval "$b" > /dev/null 2>&1 || true; t2=$(now_ns)
        ta+=($((t1 - t0))); tb+=($((t2 - t1)))
    done
    A=$(stats "${ta[@]}")
    B=$(stats "${tb[@]}")
}

stats() { # nanoseconds -> "median min max" in ms
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)] / 1e6, v[1] / 1e6, v[NR] / 1e6 }'
}

rows=()
failed=()
# row WHAT OURS BASELINE_NAME BASELINE RATIO GOAL: OURS and BASELINE are "median min max"
# (or a plain figure with its unit); GOAL is "<= N" on the ratio, or "-" when none is set.
row() {
    local what=$1 ours=$2 base_name=$3 base=$4 ratio=$5 goal=$6 met="-"
    if [ "$goal" != "-" ] && [ -n "$ratio" ] && [ "$ratio" != "-" ]; then
        local limit=${goal#<= }
        if awk -v r="$ratio" -v g="$limit" 'BEGIN { exit !(r <= g) }'; then met=yes; else met=no; fi
        if awk -v r="$ratio" -v g="$limit" 'BEGIN { exit !(r > 5 * g) }'; then failed+=("$what: $ratio, goal $goal"); fi
    fi
    rows+=("$what|$ours|$base_name|$base|$ratio|$goal|$met")
}

spread() { # "median min max" -> "median ms (min..max)"
    awk '{ printf "%s ms (%s..%s)", $1, $2, $3 }' <<< "$1"
}

ratio() { # two "median min max" -> the ratio of the medians
    awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}

# --- step overhead: 200 steps of /usr/bin/true, journal and logs on, vs a bash script
{
    echo 'runbook "Steps" {'
    for i in $(seq 1 200); do echo "    step s$i \"Step $i\" { run \`/usr/bin/true\` }"; done
    echo '}'
} > "$out/steps.runbook"
{
    echo '#!/usr/bin/env bash'
    for _ in $(seq 1 200); do echo '/usr/bin/true'; done
} > "$out/steps.sh"
pair "$rb drill $out/steps.runbook --state-dir $state/steps" "bash $out/steps.sh" "$rounds"
row "step overhead: 200 steps of /usr/bin/true" "$(spread "$A")" "bash script" "$(spread "$B")" "$(ratio "$A" "$B")" "<= 1.00"

# --- start-up
pair "$rb --version" "bash -c true" $((rounds * 4))
row "start-up: runbook --version" "$(spread "$A")" "bash -c true" "$(spread "$B")" "$(ratio "$A" "$B")" "-"
pair "$rb plan runbooks/orders-sqlite.runbook -p backup_dir=/srv/backups" "$just --version" $((rounds * 4))
row "start-up: runbook plan of the orders example" "$(spread "$A")" "just --version" "$(spread "$B")" "$(ratio "$A" "$B")" "-"

# --- lint: one big file against `just --summary` on a justfile of the same shape
lint_file() { # $1 steps, $2 file: each step a title (a comment) and one command that writes nothing
    {
        echo 'runbook "Generated" {'
        echo '    rto 45m'
        echo '    rpo 15m'
        echo '    channel pager file { path = "{workdir}/pager.log" }'
        echo '    on failure { notify pager "{title} failed at {failed.step}" }'
        seq 1 "$1" | awk '{ printf "    # Step %d checks a file.\n    step s%d \"Step %d\" {\n        run `sha256sum /srv/in/%d.db`\n        timeout 1m\n    }\n", $1, $1, $1, $1 }'
        echo '}'
    } > "$2"
}
lint_file "$lint_steps" "$out/big.runbook"
seq 1 "$lint_steps" | awk '{ printf "# Step %d checks a file.\ns%d:\n    sha256sum /srv/in/%d.db\n\n", $1, $1, $1 }' > "$out/big.just"
case "$("$rb" lint "$out/big.runbook" 2>&1 > /dev/null)" in
    *"0 errors, 0 warnings") ;;
    *) echo "the generated runbook does not lint clean" >&2; exit 1 ;;
esac
pair "$rb lint $out/big.runbook" "$just --justfile $out/big.just --summary" "$rounds"
row "lint: $lint_steps steps in one file" "$(spread "$A")" "just --summary" "$(spread "$B")" "$(ratio "$A" "$B")" "<= 1.00"

# --- lint: a folder of runbooks, 10 steps each, against the same steps in one justfile
mkdir -p "$out/folder"
for f in $(seq 1 "$folder"); do lint_file 10 "$out/folder/r$f.runbook"; done
seq 1 $((folder * 10)) | awk '{ printf "# Step %d checks a file.\ns%d:\n    sha256sum /srv/in/%d.db\n\n", $1, $1, $1 }' > "$out/folder.just"
pair "$rb lint $out/folder" "$just --justfile $out/folder.just --summary" "$rounds"
row "lint: a folder of $folder runbooks" "$(spread "$A")" "just --summary, same steps" "$(spread "$B")" "$(ratio "$A" "$B")" "<= 1.00"

# --- lint with a finding on every step: the time per 10,000 steps must stay flat
per10k=()
for n in "${big[@]}"; do
    {
        echo 'runbook "Findings" {'
        echo '    rto 45m'
        echo '    rpo 15m'
        echo '    channel pager file { path = "{workdir}/pager.log" }'
        echo '    on failure { notify pager "{title} failed at {failed.step}" }'
        seq 1 "$n" | awk '{ printf "  step s%d \"S\" { run `true` }\n", $1 }'
        echo '}'
    } > "$out/findings-$n.runbook"
    # The median of three runs: one run of the largest file read 1.77 here, three read 1.00.
    times=()
    for _ in 1 2 3; do
        t0=$(now_ns); "$rb" lint "$out/findings-$n.runbook" > /dev/null 2>&1 || true; t1=$(now_ns)
        times+=($((t1 - t0)))
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
    per10k+=("$(awk -v ns="$median" -v n="$n" 'BEGIN { printf "%.1f", ns / 1e6 / (n / 10000) }')")
done
flat=$(awk -v a="${per10k[0]}" -v b="${per10k[2]}" 'BEGIN { printf "%.2f", b / a }')
row "lint, a finding per step: ms per 10k steps at ${big[2]} steps" "${per10k[2]} ms" "the same at ${big[0]} steps" "${per10k[0]} ms" "$flat" "<= 1.50"

# --- memory: a step printing a flood, every byte kept in its log
flood_bytes=$((flood_mb * 1000 * 1000))
cat > "$out/flood.runbook" << EOF
runbook "Flood" {
    step talk "A step that prints ${flood_mb} MB" {
        shell \`yes 012345678901234567890123456789012345678901234567890123456789 | head -c $flood_bytes\`
        timeout 30m
    }
}
EOF
rm -rf "$state/flood"
/usr/bin/time -f '%M' -o "$out/flood.peak" "$rb" drill "$out/flood.runbook" --state-dir "$state/flood" > /dev/null 2>&1
peak_kb=$(tail -1 "$out/flood.peak")
logged=$(stat -c %s "$state"/flood/*/logs/talk* | awk '{ s += $1 } END { print s }')
if [ "$logged" -lt "$flood_bytes" ]; then
    echo "the flood's log has $logged bytes of $flood_bytes" >&2
    exit 1
fi
rm -rf "$state/flood"
peak_mb=$(awk -v k="$peak_kb" 'BEGIN { printf "%.1f", k / 1024 }')
row "memory: a step printing $flood_mb MB, all in the log" "$peak_mb MB peak" "the goal" "50 MB" "$(awk -v m="$peak_mb" 'BEGIN { printf "%.2f", m / 50 }')" "<= 1.00"

# --- the incident screen: key to screen while a step floods (needs tmux)
if command -v tmux > /dev/null; then
    latency=$(bash bench/tui-flood.sh 10 2 | awk -F'median ' '/during flood/ { split($2, v, " "); print v[1] }')
    row "screen: key to screen during a flood" "$latency ms median" "the goal" "100 ms" "$(awk -v l="$latency" 'BEGIN { printf "%.2f", l / 100 }')" "<= 1.00"
else
    row "screen: key to screen during a flood" "not measured: no tmux" "the goal" "100 ms" "-" "-"
fi

# --- restore: a SQLite file through sqlite.restore, against sqlite3 .backup and cp + sync.
# A table of orders with two indexes, as real ones have: the full integrity check's cost is
# in comparing each index with its table, which a table without indexes would hide.
cat > "$out/make-db.runbook" << EOF
runbook "A database to restore" {
    param into: path "Where to write it"
    step make "Write ${restore_mb} MB of rows" {
        use sqlite.execute(db: into, sql: "create table orders (id integer primary key, customer text, created text, body blob); with recursive n(i) as (select 1 union all select i + 1 from n where i < $((restore_mb * 2350))) insert into orders select i, 'customer-' || abs(random() % 100000), datetime(1700000000 + i, 'unixepoch'), randomblob(300) from n; create index by_customer on orders (customer); create index by_created on orders (created);")
        timeout 30m
    }
}
EOF
cat > "$out/restore.runbook" << 'EOF'
runbook "Restore" {
    param from: path "The backup"
    step restore "Restore it" {
        use sqlite.restore(from: from, into: "{workdir}/restored.db")
        timeout 30m
    }
}
EOF
for pragma in integrity_check quick_check; do
    cat > "$out/$pragma.runbook" << EOF
runbook "Check" {
    param db: path "The restored copy"
    step check "Check it" {
        check "intact" { sql(db, "pragma $pragma") == "ok" }
        timeout 30m
    }
}
EOF
done
"$rb" drill "$out/make-db.runbook" -p into="$out/backup.db" --state-dir "$state/make" > /dev/null 2>&1
size_mb=$(stat -c %s "$out/backup.db" | awk '{ printf "%.0f", $1 / 1e6 }')
restore_rounds=3
restore_cmd="rm -rf $state/restore; $rb drill $out/restore.runbook -p from=$out/backup.db --state-dir $state/restore"
pair "$restore_cmd" "rm -f $out/copy.db; cp $out/backup.db $out/copy.db && sync $out/copy.db" "$restore_rounds"
whole=$A floor=$B
pair "$rb drill $out/integrity_check.runbook -p db=$out/copy.db --state-dir $state/check" "$rb drill $out/quick_check.runbook -p db=$out/copy.db --state-dir $state/check" "$restore_rounds"
check=$A quick=$B
copy_only=$(awk -v w="${whole%% *}" -v c="${check%% *}" 'BEGIN { printf "%.2f %.2f %.2f", w - c, w - c, w - c }')
row "restore ${size_mb} MB: the copy (sqlite.restore less its check)" "${copy_only%% *} ms" "cp + sync (the disk's floor)" "$(spread "$floor")" "$(ratio "$copy_only" "$floor")" "-"
row "restore ${size_mb} MB: the integrity check (sqlite.restore's)" "$(spread "$check")" "the quick check (restore_quick's)" "$(spread "$quick")" "$(ratio "$check" "$quick")" "-"
if command -v sqlite3 > /dev/null; then
    pair "$restore_cmd" "rm -f $out/copy.db; sqlite3 $out/backup.db '.backup $out/copy.db'" "$restore_rounds"
    row "restore ${size_mb} MB: all of sqlite.restore" "$(spread "$A")" "sqlite3 .backup (no check)" "$(spread "$B")" "$(ratio "$A" "$B")" "-"
fi
rm -rf "$state/restore" "$out/copy.db"

# --- a pgBackRest restore drilled through runbook, against the same commands in a bash script:
# restore the newest backup into a new data directory, start it on a spare port, wait until
# it has replayed the archived WAL and promoted, count the rows, stop it. What is left over
# is the drill's own cost: parsing, the journal, the logs, the checks.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1)
if command -v pgbackrest > /dev/null && [ -n "$pgbin" ]; then
    pg=$(mktemp -d)
    trap 'rm -rf "$state" "$pg"' EXIT
    owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    if [ "$(id -u)" = 0 ]; then chown postgres "$pg"; fi
    rows_in=$((restore_mb * 11000))
    # The live cluster listens only on its socket in $pg, so its port cannot collide; the
    # restored one listens on 127.0.0.1, so its port is one nothing answers on right now.
    live_port=$((20000 + RANDOM % 10000))
    restore_port=$((30000 + RANDOM % 10000))
    while (exec 3<> "/dev/tcp/127.0.0.1/$restore_port") 2> /dev/null; do restore_port=$((30000 + RANDOM % 10000)); done
    owner "$pgbin/initdb" --pgdata "$pg/live" --auth trust --username postgres > /dev/null
    printf '%s\n' "[global]" "repo1-path=$pg/repo" "log-path=$pg/log" "lock-path=$pg/lock" \
        "compress-type=lz4" "start-fast=y" "log-level-console=warn" "log-level-file=off" "" \
        "[bench]" "pg1-path=$pg/live" "pg1-port=$live_port" "pg1-socket-path=$pg" | owner tee "$pg/pgbackrest.conf" > /dev/null
    printf '%s\n' "port = $live_port" "listen_addresses = ''" "unix_socket_directories = '$pg'" "archive_mode = on" \
        "archive_command = 'pgbackrest --config=$pg/pgbackrest.conf --stanza=bench archive-push %p'" | owner tee -a "$pg/live/postgresql.conf" > /dev/null
    owner "$pgbin/pg_ctl" --pgdata "$pg/live" --log "$pg/live.log" --wait start > /dev/null
    owner "$pgbin/psql" -qX -h "$pg" -p "$live_port" -U postgres \
        -c "create table orders as select i as id, md5(i::text) as body from generate_series(1, $rows_in) as i" > /dev/null
    owner pgbackrest --config="$pg/pgbackrest.conf" --stanza=bench stanza-create
    owner pgbackrest --config="$pg/pgbackrest.conf" --stanza=bench --type=full backup
    owner "$pgbin/pg_ctl" --pgdata "$pg/live" --mode fast --wait stop > /dev/null
    conn="postgres://postgres@127.0.0.1:$restore_port/postgres"
    {
        echo 'runbook "pgBackRest restore" {'
        echo '    param datadir: path = "{workdir}/restored" "Where the cluster is restored"'
        echo '    step restore "Restore the newest backup" {'
        echo "        use pgbackrest.restore(stanza: \"bench\", datadir: datadir, config: \"$pg/pgbackrest.conf\")"
        echo '    }'
        echo '    step start "Start it" {'
        echo "        use postgres.start(datadir: datadir, port: \"$restore_port\", pgbin: \"$pgbin\")"
        echo '    }'
        echo '    step promoted "It replayed the WAL" {'
        echo "        use postgres.promoted(conn: \"$conn\", interval: \"100ms\")"
        echo '    }'
        echo '    step rows "The rows came back" {'
        echo "        check \"every row\" { sql(\"$conn\", \"select count(*) from orders\") == $rows_in }"
        echo '    }'
        echo '    step stop "Stop it" {'
        echo "        run \`$pgbin/pg_ctl --pgdata {datadir} --mode fast stop\`"
        echo '    }'
        echo '}'
    } > "$pg/restore.runbook"
    {
        echo 'set -euo pipefail'
        echo "datadir=$pg/bash/restored"
        echo 'mkdir -p -m 700 "$datadir"'
        echo "pgbackrest --config=$pg/pgbackrest.conf --stanza=bench --pg1-path=\"\$datadir\" --tablespace-map-all=\"\$datadir.tablespaces\" --archive-mode=off --log-level-console=detail restore"
        echo "$pgbin/pg_ctl --pgdata \"\$datadir\" --options \"-p $restore_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=\$datadir\" --log \"\$datadir/restore.log\" --wait --timeout 600 start"
        echo "until [ \"\$($pgbin/psql -AtX '$conn' -c 'select pg_is_in_recovery()')\" = f ]; do sleep 0.1; done"
        echo "[ \"\$($pgbin/psql -AtX '$conn' -c 'select count(*) from orders')\" = $rows_in ]"
        echo "$pgbin/pg_ctl --pgdata \"\$datadir\" --mode fast stop"
        # The drill removes its work folder, the restored cluster in it, when it passes: the
        # script cleans up the same way (removing a tree just written costs more than one
        # written a round earlier, measured here at about 6% of the round).
        echo 'rm -rf "$datadir"'
    } > "$pg/restore.sh"
    chmod 644 "$pg/restore.runbook" "$pg/restore.sh"
    drilled="rm -rf $pg/state; $rb drill $pg/restore.runbook --state-dir $pg/state"
    scripted="rm -rf $pg/bash; bash $pg/restore.sh"
    for first in "$drilled" "$scripted"; do
        owner bash -c "$first" > "$pg/first.out" 2>&1 || { cat "$pg/first.out" >&2; echo "the pgBackRest restore failed: $first" >&2; exit 1; }
    done
    cluster_mb=$(owner bash -c "rm -rf $pg/state; $rb drill $pg/restore.runbook --state-dir $pg/state --keep-work" > /dev/null 2>&1 && du -sm "$pg"/state/*/work/restored | cut -f 1)
    pair "owner bash -c '$drilled'" "owner bash -c '$scripted'" "$restore_rounds"
    row "pgBackRest restore of a ${cluster_mb} MB cluster, drilled" "$(spread "$A")" "the same commands in bash" "$(spread "$B")" "$(ratio "$A" "$B")" "<= 1.01"
else
    row "pgBackRest restore, drilled" "not measured: no pgbackrest or PostgreSQL" "the same commands in bash" "-" "-" "-"
fi

# --- the table
{
    echo "what|runbook|baseline|baseline's figure|ratio|goal|met"
    echo "---|---|---|---|---|---|---"
    printf '%s\n' "${rows[@]}"
} | awk -F'|' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF }
    END { for (r = 1; r <= n; r++) { line = "|"; for (i = 1; i <= nf; i++) { c = cell[r, i]; if (r == 2) { c = ""; while (length(c) < w[i]) c = c "-" } line = line " " sprintf("%-" w[i] "s", c) " |" } print line } }'
echo
echo "$(uname -srm), $(nproc) cores; $($small && echo small || echo full) sizes, $rounds rounds; ratio = runbook's median / the baseline's"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'more than 5 times past the goal: %s\n' "${failed[@]}" >&2
    $tripwire && exit 1
fi
exit 0
