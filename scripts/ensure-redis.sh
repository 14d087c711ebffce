#!/usr/bin/env bash
# Starts a local Redis for the rate-limit tests when none answers on 127.0.0.1:6379 (Debian's
# redis-server, installed by ensure-system-packages.sh; no systemd needed). Prints its URL.
set -euo pipefail
port=6379
if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' --appendonly no \
    --dir /tmp --logfile /tmp/trialcheck-redis.log >&2
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
echo "redis://127.0.0.1:$port/15"
