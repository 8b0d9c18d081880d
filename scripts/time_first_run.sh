#!/usr/bin/env bash
# Times the first `make run`: from no trained artifacts and no database to /readyz answering ready (the
# first line serves), then to /readyz saying "second_line":"ready" (the guardrails and the knowledge-base
# index, trained in the background meanwhile, are loaded). Deletes artifacts/ and var/ first (they are
# rebuilt). Run `make setup` before it to time the set-up apart.
#   bash scripts/time_first_run.sh        # prints both figures; the service keeps running
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf artifacts var
mkdir -p reports
start=$(date +%s)
make run > reports/first_run.log 2>&1 &
service=$!

wait_for() {  # wait_for WHAT PATTERN: poll /readyz until its body matches PATTERN, then print the time
  until curl -sf http://127.0.0.1:8000/readyz 2>/dev/null | grep -q "$2"; do
    sleep 5
    kill -0 "$service" 2>/dev/null || { echo "make run stopped; see reports/first_run.log" >&2; exit 1; }
  done
  echo "$1 after $(( $(date +%s) - start )) s: $(curl -s http://127.0.0.1:8000/readyz)"
}

wait_for serving '"status":"ready"'
wait_for "second line" '"second_line":"\(ready\|off\|failed\)"'
echo "log: reports/first_run.log"
