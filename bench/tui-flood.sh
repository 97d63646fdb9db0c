#!/usr/bin/env bash
# Incident UI responsiveness: `runbook run` in a real terminal (tmux) while a step floods
# output with `yes` (millions of lines a second, far past the 100,000 the brief asks for).
# Measures, side by side with the same screen while a step is quiet:
#   - key latency: press a key that changes the screen, time until tmux shows the change;
#   - the flood's rate as the log file received it (the screen slows nothing it must not);
#   - the binary's peak memory (VmHWM) after the flood;
#   - Ctrl-C to the failure menu.
# tmux's own capture takes a few milliseconds, so latencies are upper bounds.
#
#   bash bench/tui-flood.sh [PRESSES] [FLOOD_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
presses=${1:-20}
flood_seconds=${2:-5}
command -v tmux > /dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 2; }
cargo build --release --locked --quiet
runbook=$PWD/target/release/runbook
work=$(mktemp -d)
socket="runbook-bench-$$"
trap 'tmux -L "$socket" kill-server 2> /dev/null || true; rm -rf "$work"' EXIT
tm() { tmux -L "$socket" "$@"; }
now_ns() { date +%s%N; }

runbook_for() { # $1: the second step's command
    cat > "$work/bench.runbook" << EOF
runbook "Flood" {
    rto 30m
    rpo 1h
    channel log file { path = "{workdir}/log" }
    step before "Quiet step before" { run \`true\` }
    step talk "The talking step" {
        shell \`$1\`
        timeout 30m
    }
    on failure { notify log "failed" }
}
EOF
}

# Waits until the screen shows $1; prints the nanoseconds it took from $2. Gives up after
# 30 s, saying what the screen showed, so a changed screen never hangs the bench.
wait_screen() {
    while ! tm capture-pane -p | grep -qF -- "$1"; do
        if [ $(($(now_ns) - $2)) -gt 30000000000 ]; then
            echo "the screen never showed \"$1\"; it shows:" >&2
            tm capture-pane -p >&2
            exit 1
        fi
    done
    echo $(($(now_ns) - $2))
}

# Presses ↑ (the pane shows the quiet step) then f (back to the running one), and times each.
key_latencies() {
    for _ in $(seq 1 "$presses"); do
        t=$(now_ns); tm send-keys Up; wait_screen "before: Quiet step before" "$t"
        t=$(now_ns); tm send-keys f; wait_screen "talk: The talking step" "$t"
    done
}

stats() { # nanoseconds on stdin -> "median X ms, max Y ms"
    sort -n | awk '{ v[NR] = $1 } END { printf "median %.1f ms, max %.1f ms", v[int((NR + 1) / 2)] / 1e6, v[NR] / 1e6 }'
}

sessions=0
session() { # $1: the talking step's command
    tm kill-server 2> /dev/null || true
    # A new server on the socket just killed can find the old one still going away ("server
    # exited unexpectedly"): each session gets a socket of its own.
    sessions=$((sessions + 1))
    socket="runbook-bench-$$-$sessions"
    rm -rf "$work/state"
    runbook_for "$1"
    tm -f /dev/null new-session -d -x 120 -y 40 \
        "exec $runbook run $work/bench.runbook --state-dir $work/state"
    wait_screen "Ctrl-C" "$(now_ns)" > /dev/null
}

session "sleep 600"
quiet=$(key_latencies | stats)

session "yes 'a line of output from a step that will not stop talking'"
sleep 1
log=$(ls "$work"/state/*/logs/talk* | head -1)
bytes0=$(stat -c %s "$log"); t0=$(now_ns)
flooding=$(key_latencies | stats)
sleep "$flood_seconds"
bytes1=$(stat -c %s "$log"); t1=$(now_ns)
pid=$(tm list-panes -F '#{pane_pid}') # the shell exec'd runbook, so this is its pid
peak_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
t=$(now_ns); tm send-keys C-c; interrupt=$(wait_screen "STOPPED" "$t")
tm send-keys a
total_bytes=$(stat -c %s "$log")

# The same flood with no screen at all: a drill with its progress lines sent to /dev/null.
rm -rf "$work/state"
"$runbook" drill "$work/bench.runbook" --state-dir "$work/state" > /dev/null 2>&1 &
drill=$!
sleep 1
log=$(ls "$work"/state/*/logs/talk* | head -1)
plain0=$(stat -c %s "$log"); p0=$(now_ns)
sleep "$flood_seconds"
plain1=$(stat -c %s "$log"); p1=$(now_ns)
kill -INT "$drill"; wait "$drill" || true

line=61 # bytes per line of the flood, newline included
awk -v b0="$bytes0" -v b1="$bytes1" -v t0="$t0" -v t1="$t1" -v line="$line" -v total="$total_bytes" \
    -v p0="$plain0" -v p1="$plain1" -v pe0="$p0" -v pe1="$p1" \
    -v quiet="$quiet" -v flooding="$flooding" -v peak="$peak_kb" -v interrupt="$interrupt" 'BEGIN {
    printf "key latency, quiet step:     %s\n", quiet
    printf "key latency, during flood:   %s\n", flooding
    screen = (b1 - b0) / line / ((t1 - t0) / 1e9); plain = (p1 - p0) / line / ((pe1 - pe0) / 1e9)
    printf "flood rate, on the screen:   %.0f lines/s\n", screen
    printf "flood rate, drill (no UI):   %.0f lines/s (screen/no UI: %.2f)\n", plain, screen / plain
    printf "flood total:                 %.0f MB, %.1f M lines\n", total / 1e6, total / line / 1e6
    printf "peak memory of runbook:      %.1f MB\n", peak / 1024
    printf "Ctrl-C to the failure menu:  %.1f ms\n", interrupt / 1e6
}'
