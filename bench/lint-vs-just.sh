#!/usr/bin/env bash
# Parse + model + lint of a generated 10,000-step runbook that lints clean, next to
# `just --summary` on a justfile of the same size and shape, timed side by side in one run.
# Prints a ratio, since absolute times on this machine move ±30% between runs. Then the
# same runbook with a finding on every step (no timeout) at 10k, 50k and 200k steps: the
# time per 10,000 steps must stay flat as the file and the findings grow.
#
#   bash bench/lint-vs-just.sh [STEPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-10000}
rounds=${2:-15}
out=bench/out
mkdir -p "$out"

cargo build --release --locked --quiet
runbook=target/release/runbook

just=$(command -v just || true)
if [ -z "$just" ]; then
    # `just` ships as a wheel on PyPI; install it beside the bench, not on the system.
    [ -x "$out/just/bin/just" ] || python3 -m pip install --quiet --disable-pip-version-check --target "$out/just" rust-just
    just="$out/just/bin/just"
fi

# The same procedure twice: each step (recipe) has a title (comment) and one command that
# writes nothing (a copy into /srv would now draw RB005 and RB007, as it should).
{
    echo 'runbook "Generated" {'
    echo '    rto 45m'
    echo '    rpo 15m'
    echo '    channel pager file { path = "{workdir}/pager.log" }'
    echo '    on failure { notify pager "{title} failed at {failed.step}" }'
    for i in $(seq 1 "$steps"); do
        echo "    # Step $i copies a file."
        echo "    step s$i \"Step $i\" {"
        echo "        run \`sha256sum /srv/in/$i.db\`"
        echo '        timeout 1m'
        echo '    }'
    done
    echo '}'
} > "$out/big.runbook"
{
    for i in $(seq 1 "$steps"); do
        echo "# Step $i copies a file."
        echo "s$i:"
        echo "    sha256sum /srv/in/$i.db"
        echo
    done
} > "$out/big.just"

summary=$("$runbook" lint "$out/big.runbook" 2>&1 >/dev/null)
case "$summary" in
    *"0 errors, 0 warnings") ;;
    *) echo "the generated runbook does not lint clean: $summary" >&2; exit 1 ;;
esac
"$just" --justfile "$out/big.just" --summary > /dev/null

now_ns() { date +%s%N; }
runbook_ns=0
just_ns=0
for _ in $(seq 1 "$rounds"); do
    t0=$(now_ns); "$runbook" lint "$out/big.runbook" > /dev/null 2>&1; t1=$(now_ns)
    "$just" --justfile "$out/big.just" --summary > /dev/null; t2=$(now_ns)
    runbook_ns=$((runbook_ns + t1 - t0))
    just_ns=$((just_ns + t2 - t1))
done

awk -v steps="$steps" -v rounds="$rounds" -v r="$runbook_ns" -v j="$just_ns" -v lines="$(wc -l < "$out/big.runbook")" 'BEGIN {
    rm = r / rounds / 1e6; jm = j / rounds / 1e6
    printf "%d steps (%d lines), %d rounds each, interleaved\n", steps, lines, rounds
    printf "  runbook lint     %8.1f ms/run  %10.0f steps/s\n", rm, steps / (rm / 1000)
    printf "  just --summary   %8.1f ms/run  %10.0f steps/s\n", jm, steps / (jm / 1000)
    printf "  ratio runbook/just: %.2f (goal: at most 1.00)\n", rm / jm
}'

# A finding on every step: each step without a timeout draws RB011. One line per step, so
# 200,000 steps stay under the 8 MB a runbook may be.
findings() {
    local n=$1
    {
        echo 'runbook "Findings" {'
        echo '    rto 45m'
        echo '    rpo 15m'
        echo '    channel pager file { path = "{workdir}/pager.log" }'
        echo '    on failure { notify pager "{title} failed at {failed.step}" }'
        seq 1 "$n" | awk '{ printf "  step s%d \"S\" { run `true` }\n", $1 }'
        echo '}'
    } > "$out/findings-$n.runbook"
}
echo "a finding on every step (RB011), one run each:"
for n in 10000 50000 200000; do
    findings "$n"
    t0=$(now_ns); summary=$("$runbook" lint "$out/findings-$n.runbook" 2>&1 >/dev/null || true); t1=$(now_ns)
    case "$summary" in
        *"0 errors, $n warnings") ;;
        *) echo "expected $n warnings from $n steps: $summary" >&2; exit 1 ;;
    esac
    awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN { printf "  %7d steps %9.1f ms   %7.1f ms per 10,000 steps\n", n, ns / 1e6, ns / 1e6 / (n / 10000) }'
done
