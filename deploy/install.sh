#!/usr/bin/env bash
# Installs or upgrades cpsyncd on a Debian/Ubuntu server with systemd. Run from the repository as root:
#   sudo deploy/install.sh              build, install, (re)start
#   deploy/install.sh --dry-run         print every step, change nothing (no root needed)
#   sudo deploy/install.sh --skip-build install the binaries already in .build/release
# Idempotent: re-running upgrades the binaries, units and nginx snippet in place. It never touches the data in
# /var/lib/cpsync, an existing /etc/cpsync/cpsyncd.conf, an edited /etc/nginx/sites-available/cpsync.conf, or an
# existing cpsync user.
set -euo pipefail

PREFIX=/usr/local
DATA_DIR=/var/lib/cpsync
CONF_DIR=/etc/cpsync
UNIT_DIR=/etc/systemd/system
NGINX_DIR=/etc/nginx
SERVICE_USER=cpsync
DRY_RUN=0
SKIP_BUILD=0

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$DEPLOY_DIR")"
BIN_DIR="$PREFIX/bin"
DOC_DIR="$PREFIX/share/doc/cpsync"

# Every change to the system goes through `run`, so --dry-run shows exactly what a real run would do.
run() {
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

say() { printf '==> %s\n' "$*"; }

if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo deploy/install.sh), or with --dry-run to see the steps" >&2
  exit 77
fi

# 1. Build the daemon (the server needs no `cpsync`; offices get that separately). The Swift runtime is linked
#    statically: the service must not depend on a toolchain under /root or /home, which ProtectHome= hides.
if [ "$SKIP_BUILD" -eq 0 ]; then
  say "building release binaries"
  run swift build -c release --static-swift-stdlib --product cpsyncd --package-path "$REPO_DIR"
fi
RELEASE_DIR="$REPO_DIR/.build/release"
if [ "$DRY_RUN" -eq 0 ] && [ ! -x "$RELEASE_DIR/cpsyncd" ]; then
  echo "install.sh: $RELEASE_DIR/cpsyncd is missing; build first" >&2
  exit 1
fi

# 2. The binary: copy beside the target, then rename over it, so a running daemon keeps its old inode and
#    the switch is atomic (a plain cp onto a running binary fails with "Text file busy").
say "installing cpsyncd into $BIN_DIR"
run install -d -m 0755 "$BIN_DIR"
run install -m 0755 "$RELEASE_DIR/cpsyncd" "$BIN_DIR/.cpsyncd.new"
run mv -f "$BIN_DIR/.cpsyncd.new" "$BIN_DIR/cpsyncd"
run install -d -m 0755 "$DOC_DIR"
run install -m 0644 "$DEPLOY_DIR/README.md" "$DOC_DIR/README.md"

# 3. The service user and its directories (data stays where it is on upgrades).
if getent passwd "$SERVICE_USER" >/dev/null 2>&1; then
  say "user $SERVICE_USER exists"
else
  say "creating system user $SERVICE_USER"
  run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin \
    --comment "cpsync county daemon" "$SERVICE_USER"
fi
say "preparing $DATA_DIR"
run install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
run install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR/backups"

# 3b. /etc/cpsync/cpsyncd.conf tells every cpsyncd command where the data is (no --data needed). Written once;
#     an admin's edits are kept. The directory may already exist (it also holds the TLS files): its mode is left alone.
if [ -e "$CONF_DIR/cpsyncd.conf" ]; then
  say "keeping the existing $CONF_DIR/cpsyncd.conf"
else
  say "writing $CONF_DIR/cpsyncd.conf (data = $DATA_DIR)"
  [ -d "$CONF_DIR" ] || run install -d -m 0755 "$CONF_DIR"
  run install -m 0644 "$DEPLOY_DIR/cpsyncd.conf" "$CONF_DIR/cpsyncd.conf"
fi

# 4. systemd units: the daemon and the nightly backup timer.
say "installing systemd units"
for unit in cpsyncd.service cpsyncd-backup.service cpsyncd-backup.timer; do
  run install -m 0644 "$DEPLOY_DIR/$unit" "$UNIT_DIR/$unit"
done
run systemctl daemon-reload
run systemctl enable cpsyncd.service cpsyncd-backup.timer
# restart picks up a new binary on upgrades and starts the daemon on a first install.
run systemctl restart cpsyncd.service
run systemctl start cpsyncd-backup.timer

# 5. nginx: the shared location rules are ours and are replaced; the site file is the admin's after the first
#    install (server_name, certificate paths), so it is only written when absent and never enabled for them.
if [ -d "$NGINX_DIR" ]; then
  say "installing nginx snippet"
  run install -d -m 0755 "$NGINX_DIR/snippets"
  run install -m 0644 "$DEPLOY_DIR/nginx/cpsync-locations.conf" "$NGINX_DIR/snippets/cpsync-locations.conf"
  if [ -e "$NGINX_DIR/sites-available/cpsync.conf" ] || [ -e "$NGINX_DIR/conf.d/cpsync.conf" ]; then
    say "keeping the existing nginx site file"
  else
    run install -d -m 0755 "$NGINX_DIR/sites-available"
    run install -m 0644 "$DEPLOY_DIR/nginx/cpsync.conf" "$NGINX_DIR/sites-available/cpsync.conf"
    say "edit $NGINX_DIR/sites-available/cpsync.conf (server_name, certificates), link it into sites-enabled, then: nginx -t && systemctl reload nginx"
  fi
else
  say "nginx not found: install it (apt-get install nginx-light) and re-run for the TLS front end"
fi

say "done; check with: sudo -u $SERVICE_USER $BIN_DIR/cpsyncd doctor"
