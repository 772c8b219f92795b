#!/usr/bin/env bash
# `make run`: the county daemon on the default data directory (./cpsync-data) plus a short demo of two offices
# (the county committee's own office and a township) syncing through it. The daemon keeps running afterwards (Ctrl-C stops it) unless DEMO_EXIT=1.
#   CPSYNC_BIN   where cpsyncd/cpsync are (default: .build/debug)
#   CPSYNC_DATA  the data directory (default: ./cpsync-data)
#   CPSYNC_LISTEN  the address (default: 127.0.0.1:8710)
set -euo pipefail
BIN=${CPSYNC_BIN:-.build/debug}
DATA=${CPSYNC_DATA:-cpsync-data}
LISTEN=${CPSYNC_LISTEN:-127.0.0.1:8710}
DEMO="$DATA/demo"
URL="http://$LISTEN"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

mkdir -p "$DEMO"
chmod 700 "$DATA" "$DEMO"
TOKENS="$DEMO/tokens"
if [ ! -f "$TOKENS" ]; then
  say "registering the county and two township offices (tokens are kept in $TOKENS)"
  suffix=""
  if "$BIN/cpsyncd" site list --data "$DATA" 2>/dev/null | grep -q '^huashan '; then suffix="-$(date +%s)"; fi
  # A data directory made by an older cpsyncd uses `county` as the server's own id: the county office is then
  # `county-office` (site add says so).
  COUNTY_ID=county
  if "$BIN/cpsyncd" site list --data "$DATA" 2>/dev/null | grep -q '^county '; then COUNTY_ID="county$suffix"; fi
  COUNTY=$("$BIN/cpsyncd" site add --data "$DATA" --id "$COUNTY_ID" --name "某县政协" --kind county 2>/dev/null) || {
    COUNTY_ID="county-office$suffix"
    COUNTY=$("$BIN/cpsyncd" site add --data "$DATA" --id "$COUNTY_ID" --name "某县政协" --kind county 2>/dev/null)
  }
  {
    echo "COUNTY_ID=$COUNTY_ID"
    echo "COUNTY=$COUNTY"
    echo "HUASHAN_ID=huashan$suffix"
    # No --parent: a township goes under the county at the top of the tree (on a second run, COUNTY_ID is the
    # county committee's own office below it, which holds no sites).
    echo "HUASHAN=$("$BIN/cpsyncd" site add --data "$DATA" --id "huashan$suffix" --name "华山镇政协工委" --kind township 2>/dev/null)"
    echo "ADMIN=$("$BIN/cpsyncd" admin add --data "$DATA" --name "demo-admin$suffix" 2>/dev/null)"
  } > "$TOKENS"
  chmod 600 "$TOKENS"
fi
# shellcheck disable=SC1090
. "$TOKENS"

say "starting cpsyncd on $URL (data: $DATA)"
"$BIN/cpsyncd" serve --data "$DATA" --listen "$LISTEN" --quiet &
DAEMON=$!
stop_daemon() { kill -TERM "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; }
trap stop_daemon EXIT
# Ctrl-C is how `make run` is meant to end: the daemon (in the same process group) gets SIGINT too and stops
# gracefully; wait for it and end as a normal stop (exit 0), so make reports no error.
trap 'trap - INT TERM EXIT; echo; stop_daemon; echo "cpsyncd stopped."; exit 0' INT TERM
for _ in $(seq 1 100); do
  curl -fsS "$URL/v1/health" >/dev/null 2>&1 && break
  kill -0 $DAEMON 2>/dev/null || { echo "cpsyncd did not start (is $LISTEN in use?)"; exit 1; }
  sleep 0.1
done

A="$DEMO/huashan.db"; B="$DEMO/county.db"
# init is idempotent: on an existing replica it only updates the server address and token.
"$BIN/cpsync" init --db "$A" --server "$URL" --site "$HUASHAN_ID" --token "$HUASHAN"
"$BIN/cpsync" init --db "$B" --server "$URL" --site "$COUNTY_ID" --token "$COUNTY"
"$BIN/cpsync" sync --db "$A" >/dev/null
"$BIN/cpsync" sync --db "$B" >/dev/null

say "华山镇 records a member and a proposal (offline)"
n="$(date +%H%M%S)-$$"   # unique per run: names must not repeat across demo runs
"$BIN/cpsync" member add --db "$A" --name "王芳$n" --gender 女 --sector 教育 --party 无党派 --site "$HUASHAN_ID"
"$BIN/cpsync" proposal add --db "$A" --title "关于加强农村饮水安全保障的提案（$n）" --proposer "王芳$n" --site "$HUASHAN_ID"

say "both offices sync: the county committee's office now holds 华山镇's records"
"$BIN/cpsync" sync --db "$A"
"$BIN/cpsync" sync --db "$B"
"$BIN/cpsync" member list --db "$B" | grep -E "^(name|姓名)|$n"
"$BIN/cpsync" proposal list --db "$B" | grep -E "^(number|案号)|$n"

say "the county office and 华山镇 change the same member's 界别 offline: a real conflict for the admin"
"$BIN/cpsync" member edit "王芳$n" --db "$A" --sector 科技
"$BIN/cpsync" member edit "王芳$n" --db "$B" --sector 经济
"$BIN/cpsync" sync --db "$A"; "$BIN/cpsync" sync --db "$B"; "$BIN/cpsync" sync --db "$A"
"$BIN/cpsync" conflicts list --server "$URL" --token "$ADMIN"

say "status of 华山镇"
"$BIN/cpsync" status --db "$A" || true

if [ "${DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
say "cpsyncd keeps running on $URL — admin page: $URL/admin/  (admin token in $TOKENS). Ctrl-C stops it."
wait $DAEMON
