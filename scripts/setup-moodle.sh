#!/usr/bin/env bash
# A real Moodle 5.1 with mod_lticontainer for the end-to-end Moodle tier (tests/e2e/test_moodle.py),
# installed offline from $LTICONTAINER_MOODLE_DIR (default ../shared/moodle beside the repository:
# moodle-5.1.tar.zst, mod_lticontainer-1.6.3.tar.zst) on Debian's PHP 8.2 and MariaDB, served
# by PHP's built-in server on http://127.0.0.1:$LTICONTAINER_MOODLE_PORT (30080), with the course
# fixture of scripts/moodle/fixture.php. Needs root.
#
# MariaDB, not PostgreSQL: mod_lticontainer 1.6.3's Dashboard and Chart pages build their query
# with `CLIENT.filename = ""` (a string in MySQL/MariaDB, an empty identifier in PostgreSQL), so
# on PostgreSQL they answer "Error reading from database". The database server is Debian's
# (started with its init script, no systemd needed); this Moodle's database and its user are named
# after the port, so Moodles on two ports share the server without touching each other.
#
# Cached under $LTICONTAINER_CACHE_DIR/moodle (default /var/cache/lticontainer/moodle): the
# unpacked source, the data directory and the database are reused while they were made from the
# same two archives for the same port on MariaDB (a first run takes ~3 minutes, the next a few
# seconds; a cache made on PostgreSQL by an older version of this script is installed anew).
#
# Usage: scripts/setup-moodle.sh [--option=value …]
#                                           install when needed, serve, make the course fixture
#                                           (scripts/moodle/fixture.php: options there); prints it as JSON
#        scripts/setup-moodle.sh stop       stop the server this script started
#        scripts/setup-moodle.sh status     exit 0 when Moodle answers
#        scripts/setup-moodle.sh grades --lti=ID   the gradebook's grades of LTI activity ID as JSON
#                                           (scripts/moodle/grades.php), read through Moodle's grade API
#        scripts/setup-moodle.sh rotate-key a new LTI 1.3 signing key for the site, as Moodle makes
#                                           its first (scripts/moodle/rotate_key.php); prints the
#                                           old and the new key id as JSON
#        scripts/setup-moodle.sh sql QUERY  run QUERY in this Moodle's database (tests and benches
#                                           read mod_lticontainer's tables this way): one row a
#                                           line, tab-separated, NULL as NULL, no header
# Exit status 3: the Moodle archives are missing and CI is not set (the tier is skipped); under
# CI=true a missing archive is an error (1), like any other failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src=${LTICONTAINER_MOODLE_DIR:-$repo/../shared/moodle}
cache=${LTICONTAINER_CACHE_DIR:-/var/cache/lticontainer}/moodle
port=${LTICONTAINER_MOODLE_PORT:-30080}
www="$cache/www"
data="$cache/data"
pidfile="$cache/php-server.pid"
serverlog="$cache/php-server.log"
url="http://127.0.0.1:$port"
db=lticontainer_moodle_$port
dbuser=lticontainer_m$port
# A test site on loopback only: fixed credentials the tests read back from the fixture's JSON.
dbpass=lticontainer-moodle
adminpass=Admin-pass-1
# What Moodle's installer and pages need from PHP (sodium is built into php8.2-cli).
PHP_DEBS=(php8.2-cli php8.2-mysql php8.2-curl php8.2-xml php8.2-mbstring php8.2-zip php8.2-gd php8.2-intl
  php8.2-soap)
PHP_MODULES=(mysqli curl xml mbstring zip gd intl soap sodium)
PHP_INI=(-d max_input_vars=5000 -d memory_limit=512M -d post_max_size=64M -d upload_max_filesize=64M)
log() { printf 'moodle: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

answers() { [ "$(curl -s -o /dev/null -m 20 -w '%{http_code}' "$url/login/index.php" 2>/dev/null)" = 200 ]; }

stop_server() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null || true)
  # setsid below: the server and its workers form one process group led by $pid.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
  # A server an interrupted run left behind (its pidfile gone with a newer run) still answers on
  # the port and would keep Moodle "up" through a test that stops it: stop that one too.
  pkill -f -- "-S 127.0.0.1:$port -t $www/public" 2>/dev/null || true
  log "stopped the server on $url"
}

# The database as root (Debian's MariaDB lets the system's root in over its socket).
sql_admin() { mariadb --batch --skip-column-names "$@"; }

case "${1:-}" in
  stop) stop_server; exit 0 ;;
  status) if answers; then echo "up: $url"; exit 0; else echo "down"; exit 1; fi ;;
  grades) shift; exec php "${PHP_INI[@]}" "$repo/scripts/moodle/grades.php" --config="$www/config.php" "$@" ;;
  rotate-key) exec php "${PHP_INI[@]}" "$repo/scripts/moodle/rotate_key.php" --config="$www/config.php" ;;
  sql) [ $# = 2 ] || { echo "usage: $0 sql QUERY" >&2; exit 2; }
    exec mariadb --batch --skip-column-names --database="$db" --execute="$2" ;;
  --* | "") ;;
  *) echo "usage: $0 [--option=value …] | stop | status | sql QUERY | grades --lti=ID | rotate-key" >&2; exit 2 ;;
esac

moodle_tar="$src/moodle-5.1.tar.zst"
plugin_tar="$src/mod_lticontainer-1.6.3.tar.zst"
if [ ! -f "$moodle_tar" ] || [ ! -f "$plugin_tar" ]; then
  msg="no Moodle archives in $src (moodle-5.1.tar.zst, mod_lticontainer-1.6.3.tar.zst); set LTICONTAINER_MOODLE_DIR to the folder that has them"
  [ "${CI:-}" = true ] && die "$msg (CI must run the Moodle tier)"
  log "$msg: the Moodle tier is skipped"
  exit 3
fi
[ "$(id -u)" = 0 ] || die "must run as root (packages, MariaDB, $cache)"

# ---- packages
php_ok() {
  command -v php >/dev/null || return 1
  local have m
  have=$(php -m 2>/dev/null | tr '[:upper:]' '[:lower:]')
  for m in "${PHP_MODULES[@]}"; do grep -qx "$m" <<<"$have" || return 1; done
}
if ! php_ok || [ ! -x /etc/init.d/mariadb ] || ! command -v zstd >/dev/null || ! command -v curl >/dev/null; then
  log "installing PHP 8.2, MariaDB and zstd from Debian"
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    "${PHP_DEBS[@]}" mariadb-server zstd curl >/dev/null
  php_ok || die "PHP lacks one of: ${PHP_MODULES[*]} after installing ${PHP_DEBS[*]}"
fi

# ---- MariaDB (Debian's server, started by its init script as PostgreSQL's cluster was: no systemd)
sql_admin -e 'select 1' >/dev/null 2>&1 || /etc/init.d/mariadb start >/dev/null
for _ in $(seq 50); do sql_admin -e 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
sql_admin -e 'select 1' >/dev/null || die "MariaDB does not answer (/etc/init.d/mariadb start; its log: /var/log/mysql)"

# ---- source: Moodle with the plugin in public/mod/lticontainer, keyed by the archives' hashes
mkdir -p "$cache"
key=$(cat "$moodle_tar" "$plugin_tar" | sha256sum | cut -c1-16)
if [ "$(cat "$www/.lticontainer-src" 2>/dev/null)" != "$key" ]; then
  stop_server
  log "unpacking Moodle and mod_lticontainer into $www"
  rm -rf "$www" "$cache/.installed"
  mkdir -p "$www/public/mod/lticontainer"
  zstd -dc "$moodle_tar" | tar -x -C "$www"
  zstd -dc "$plugin_tar" | tar -x -C "$www/public/mod/lticontainer"
  echo "$key" >"$www/.lticontainer-src"
fi

# ---- install, unless this database and data directory were made from the same source for this URL
installed="$key $url $db mariadb"
db_exists() { [ "$(sql_admin -e "select 1 from information_schema.schemata where schema_name = '$db'")" = 1 ]; }
if [ "$(cat "$cache/.installed" 2>/dev/null)" != "$installed" ] || [ ! -f "$www/config.php" ] || ! db_exists; then
  stop_server
  log "installing Moodle 5.1 for $url (about 3 minutes)"
  started=$(date +%s)
  rm -f "$cache/.installed" "$www/config.php"   # the installer refuses to run over a config.php
  rm -rf "$data"
  mkdir -p "$data"
  # utf8mb4 with the collation Moodle's environment check recommends; large index prefixes and
  # the Barracuda row formats it needs are MariaDB 10.11's defaults.
  sql_admin -e "drop database if exists $db; drop user if exists '$dbuser'@'localhost';
    create database $db default character set utf8mb4 collate utf8mb4_unicode_ci;
    create user '$dbuser'@'localhost' identified by '$dbpass';
    grant all privileges on $db.* to '$dbuser'@'localhost';"
  php "${PHP_INI[@]}" "$www/admin/cli/install.php" --non-interactive --agree-license --lang=en \
    --wwwroot="$url" --dataroot="$data" --dbtype=mariadb --dbhost=localhost --dbname="$db" \
    --dbuser="$dbuser" --dbpass="$dbpass" --fullname="lticontainer test Moodle" --shortname=lticontainer \
    --adminuser=admin --adminpass="$adminpass" --adminemail=admin@example.com \
    --supportemail=admin@example.com >"$cache/install.log" 2>&1 ||
    { tail -30 "$cache/install.log" >&2; die "Moodle's installer failed (log: $cache/install.log)"; }
  echo "$installed" >"$cache/.installed"
  log "installed in $(($(date +%s) - started)) s"
fi

# ---- serve (PHP's built-in server; several workers, as a launch or a tab calls back into Moodle
# while Moodle holds the session lock of the request)
if ! answers; then
  stop_server
  if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
    die "port $port is taken by something that is not this Moodle; set LTICONTAINER_MOODLE_PORT"
  fi
  PHP_CLI_SERVER_WORKERS=4 setsid php "${PHP_INI[@]}" -S "127.0.0.1:$port" -t "$www/public" \
    >>"$serverlog" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 120); do
    answers && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$serverlog" >&2; die "php -S exited"; }
    sleep 0.5
  done
  answers || { tail -20 "$serverlog" >&2; die "Moodle did not answer on $url within 60 s"; }
  log "serving $url (pid $(cat "$pidfile"), log $serverlog)"
fi

# ---- the course fixture (idempotent; the tests run it again with their own hub's URL and secret)
exec php "${PHP_INI[@]}" "$repo/scripts/moodle/fixture.php" --config="$www/config.php" \
  --admin-password="$adminpass" "$@"
