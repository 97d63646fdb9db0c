#!/usr/bin/env bash
# Step overhead: a 200-step runbook of /usr/bin/true drilled for real (journal fsync'd per
# event, a log per step), next to a bash script running /usr/bin/true 200 times, side by
# side in one run. Prints the ratio; the goal is at most 1.5.
#
#   bash bench/steps-vs-bash.sh [STEPS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-200}
rounds=${2:-10}
out=bench/out
mkdir -p "$out"
cargo build --release --locked --quiet
runbook=$PWD/target/release/runbook

{
    echo 'runbook "Steps" {'
    for i in $(seq 1 "$steps"); do
        echo "    step s$i \"Step $i\" { run \`/usr/bin/true\` }"
    done
    echo '}'
} > "$out/steps.runbook"
{
    echo '#!/usr/bin/env bash'
    for _ in $(seq 1 "$steps"); do echo '/usr/bin/true'; done
} > "$out/steps.sh"

state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
now_ns() { date +%s%N; }
runbook_ns=0
bash_ns=0
for _ in $(seq 1 "$rounds"); do
    t0=$(now_ns); "$runbook" drill "$out/steps.runbook" --state-dir "$state" > /dev/null 2>&1; t1=$(now_ns)
    bash "$out/steps.sh"; t2=$(now_ns)
    runbook_ns=$((runbook_ns + t1 - t0))
    bash_ns=$((bash_ns + t2 - t1))
done
awk -v steps="$steps" -v rounds="$rounds" -v r="$runbook_ns" -v b="$bash_ns" 'BEGIN {
    rm = r / rounds / 1e6; bm = b / rounds / 1e6
    printf "%d steps of /usr/bin/true, %d rounds each, interleaved\n", steps, rounds
    printf "  runbook drill  %8.1f ms/run  %6.3f ms/step\n", rm, rm / steps
    printf "  bash           %8.1f ms/run  %6.3f ms/step\n", bm, bm / steps
    printf "  ratio runbook/bash: %.2f (goal: at most 1.50)\n", rm / bm
}'
