#!/usr/bin/env bash
# A private MariaDB server for tests, on loopback only, in its own directory.
#   mariadb-test-server.sh start DIR   fresh data directory in DIR, a free port, TLS with a test
#                                      CA (DIR/ca.pem), a password user "kgate" with every
#                                      privilege and "kgate_tls" that must use TLS; writes DIR/dsn
#                                      (mysql://kgate:...@127.0.0.1:PORT) once it answers
#   mariadb-test-server.sh stop DIR    stops it (waiting for it to exit) and removes DIR
#   mariadb-test-server.sh kill DIR    SIGKILL, keeping DIR (a test of a database that vanishes)
#   mariadb-test-server.sh restart DIR starts it again on the same port and data
# CTest runs start/stop once per run (fixture "mariadb"); tests that stop the server use their own.
set -euo pipefail
cmd=${1:?start|stop|kill|restart}
dir=${2:?directory}
password=kgate-test-password

fail() { echo "mariadb-test-server: $*" >&2; exit 1; }

stop_server() {  # SIGTERM, up to 30 s to exit, then SIGKILL
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

launch() {  # launch PORT: starts mariadbd in the background; waits until it answers or dies
  local port=$1
  # Its own session: the caller may kill its process group when this script returns.
  setsid mariadbd --no-defaults --datadir="$dir/data" --user="$(id -un)" --bind-address=127.0.0.1 \
    --port="$port" --socket="$dir/sock" --pid-file="$dir/pid" --skip-name-resolve \
    --skip-log-bin --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
    --performance-schema=OFF --max-connections=500 --log-error="$dir/error.log" \
    --ssl-ca="$dir/ca.pem" --ssl-cert="$dir/server.pem" --ssl-key="$dir/server.key" \
    </dev/null >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    if mariadb-admin --no-defaults --socket="$dir/sock" -uroot ping >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      return 0
    fi
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  fail "mariadbd did not answer within 30 s; see $dir/error.log"
}

case $cmd in
  start)
    command -v mariadbd >/dev/null || fail "mariadbd not found: install mariadb-server (scripts/install-deps.sh --with-tests)"
    stop_server  # one left by an interrupted run
    rm -rf "$dir"
    mkdir -p "$dir"
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
      fail "mariadb-install-db failed; see $dir/install.log"
    # A CA of its own and a certificate for 127.0.0.1, so clients can verify the server.
    {
      openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj /CN=kgate-test-db-ca \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" &&
      openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$dir/server.key" \
        -out "$dir/server.csr" &&
      openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 3 -out "$dir/server.pem" \
        -extfile <(printf 'subjectAltName=IP:127.0.0.1\n')
    } >"$dir/tls.log" 2>&1 || fail "could not make the test certificates; see $dir/tls.log"
    started=0
    for _ in $(seq 20); do
      if launch $((20000 + RANDOM % 40000)); then started=1; break; fi
    done
    [ $started = 1 ] || fail "mariadbd would not start; see $dir/error.log"
    mariadb --no-defaults --socket="$dir/sock" -uroot -e \
      "CREATE USER 'kgate'@'127.0.0.1' IDENTIFIED BY '$password';
       GRANT ALL PRIVILEGES ON *.* TO 'kgate'@'127.0.0.1';
       CREATE USER 'kgate_tls'@'127.0.0.1' IDENTIFIED BY '$password' REQUIRE SSL;
       GRANT ALL PRIVILEGES ON *.* TO 'kgate_tls'@'127.0.0.1';" ||
      fail "could not create the test user"
    echo "mysql://kgate:$password@127.0.0.1:$(cat "$dir/port")" >"$dir/dsn"
    ;;
  restart)
    launch "$(cat "$dir/port")" || fail "mariadbd would not restart; see $dir/error.log"
    ;;
  kill)
    [ -f "$dir/pid" ] && kill -9 "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid" "$dir/sock"
    ;;
  stop)
    stop_server
    rm -rf "$dir"
    ;;
  *) fail "unknown command $cmd" ;;
esac
