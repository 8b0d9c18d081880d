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
until curl -sf http://127.0.0.1:8000/readyz > /dev/null 2>&1; do
  sleep 5
  kill -0 $! 2>/dev/null || { echo "make run stopped; see reports/first_run.log" >&2; exit 1; }
done
echo "serving after $(( $(date +%s) - start )) s: $(curl -s http://127.0.0.1:8000/readyz)"
until curl -s http://127.0.0.1:8000/readyz | grep -q '"second_line":"\(ready\|off\|failed\)"'; do
  sleep 5
  kill -0 $! 2>/dev/null || { echo "make run stopped; see reports/first_run.log" >&2; exit 1; }
done
echo "second line after $(( $(date +%s) - start )) s: $(curl -s http://127.0.0.1:8000/readyz) (log: reports/first_run.log)"
