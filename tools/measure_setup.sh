#!/usr/bin/env bash
# Measures what `make setup` and `make demo` cost in a fresh clone, as a user gets them
# (bench/RESULTS.md, "Setup and rebuilds"):
#   tools/measure_setup.sh [REPO] [WORKDIR]   (defaults: this checkout, /tmp/mer-fast-measure;
#                                              WORKDIR must not exist)
# first setup, a no-op setup, a setup after touching one .cpp, then three `make demo`: the first,
# a second in the same clone (it resumes), and one after `rm -rf runs` (it trains again); each
# line of a demo's output is stamped with the seconds since `make demo` started, so the time
# before training starts is the stamp of the first "training" line. Prints one block per step
# with the load average; the demos' stamped output goes to WORKDIR/demo{1,2,3}.log.
set -uo pipefail
REPO=${1:-$(cd "$(dirname "$0")/.." && pwd)}
WORK=${2:-/tmp/mer-fast-measure}
if [ -e "$WORK" ]; then
    echo "measure_setup.sh: $WORK exists; remove it or give another WORKDIR" >&2
    exit 2
fi
mkdir -p "$WORK" && git clone -q "$REPO" "$WORK/clone" && cd "$WORK/clone" || exit 1
export MER_FAST_CACHE="$WORK/cache"  # an empty cache: the first demo writes its synthetic data
export PYTHONUNBUFFERED=1            # the demo's lines reach the time stamps as they are printed
TIMED=(/usr/bin/time -f "wall %e s, user %U s, sys %S s")
STAMP='import sys, time
t0 = float(sys.argv[1])
for line in sys.stdin:
    sys.stdout.write(f"{time.time() - t0:8.2f} {line}")
    sys.stdout.flush()'

step() { echo "=== $* | $(date -u +%FT%TZ) | load $(cut -d' ' -f1-3 /proc/loadavg)"; }
demo() {  # $1: log name
    local t0
    t0=$(date +%s.%N)
    "${TIMED[@]}" make demo 2>&1 | PYTHONUNBUFFERED=1 python3 -c "$STAMP" "$t0" > "$WORK/$1.log"
    grep -m1 "training r3d10" "$WORK/$1.log" || echo "(no training: every step and fold stored)"
    tail -n1 "$WORK/$1.log"
}

git log --oneline -1
step "first make setup"
"${TIMED[@]}" make setup 2>&1 | tail -n1
step "make setup, nothing changed"
"${TIMED[@]}" make setup 2>&1 | tail -n1
touch csrc/cpu/decalcomanie.cpp
step "make setup after touching csrc/cpu/decalcomanie.cpp"
"${TIMED[@]}" make setup 2>&1 | tail -n1
echo "objects compiled (ninja log, last lines: start ms, end ms, ..., object):"
tail -n3 build/editable-*/.ninja_log
step "first make demo"
demo demo1
step "second make demo, same clone"
demo demo2
rm -rf runs
step "make demo after rm -rf runs"
demo demo3
step "done"
