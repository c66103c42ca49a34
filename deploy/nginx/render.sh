#!/usr/bin/env bash
# Renders deploy/nginx/parley.conf.template.
#
# Usage: deploy/nginx/render.sh [options]
#   --upstream HOST:PORT   a Parley process (repeat; default parley-1:5000 and parley-2:5000)
#   --listen ADDR:PORT     where nginx listens (repeat; default 80)
#   --max-body BYTES       client_max_body_size (default PARLEY_MAX_UPLOAD_BYTES or 26214400)
#   --hash-key KEY         the stickiness key of /socket.io/ (default $remote_addr; see the
#                          template). Tests whose clients all come from 127.0.0.1 can bind each
#                          client to its own loopback address (127.0.0.2, ...), or use
#                          '$remote_addr$arg_affinity' with socket.io-client's
#                          `query: {affinity: "..."}`, which rides on every request of a session.
#   --debug-upstream       add an X-Parley-Upstream response header naming the process (tests)
#   --prefix DIR           write a self-contained DIR/nginx.conf (pid, logs, temp folders in DIR,
#                          no root needed) and print its path; run it with
#                            nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'
#                          Without --prefix the http-context snippet goes to stdout (this is how
#                          deploy/nginx/parley.conf is made: `deploy/nginx/render.sh > parley.conf`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
upstreams=()
listens=()
max_body=${PARLEY_MAX_UPLOAD_BYTES:-26214400}
hash_key='$remote_addr'
debug_upstream=0
prefix=

usage() { sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
need() { [[ $# -ge 2 && -n $2 ]] || { echo "render.sh: $1 needs a value" >&2; exit 2; }; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --upstream) need "$@"; upstreams+=("$2"); shift 2 ;;
    --listen) need "$@"; listens+=("$2"); shift 2 ;;
    --max-body) need "$@"; max_body=$2; shift 2 ;;
    --hash-key) need "$@"; hash_key=$2; shift 2 ;;
    --debug-upstream) debug_upstream=1; shift ;;
    --prefix) need "$@"; prefix=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "render.sh: unknown argument $1" >&2; usage ;;
  esac
done
[[ ${#upstreams[@]} -gt 0 ]] || upstreams=(parley-1:5000 parley-2:5000)
[[ ${#listens[@]} -gt 0 ]] || listens=(80)
[[ $max_body =~ ^[0-9]+$ ]] || { echo "render.sh: --max-body must be a number of bytes" >&2; exit 2; }
host_port='^[][A-Za-z0-9._:-]+:[0-9]+$'
listen_re='^[][A-Za-z0-9._:-]+$'
key_re='^[A-Za-z0-9_${}]+$'
for u in "${upstreams[@]}"; do
  [[ $u =~ $host_port ]] ||
    { echo "render.sh: --upstream must be HOST:PORT (got $u)" >&2; exit 2; }
done
for l in "${listens[@]}"; do
  [[ $l =~ $listen_re ]] || { echo "render.sh: bad --listen $l" >&2; exit 2; }
done
[[ $hash_key =~ $key_re ]] || { echo "render.sh: bad --hash-key $hash_key" >&2; exit 2; }

server_lines=
for u in "${upstreams[@]}"; do
  # A process that refuses a connection is left out for 10 s, then tried again.
  server_lines+="    server $u max_fails=1 fail_timeout=10s;"$'\n'
done
listen_lines=
for l in "${listens[@]}"; do listen_lines+="    listen $l;"$'\n'; done
extra=
if [[ $debug_upstream -eq 1 ]]; then
  extra='    add_header X-Parley-Upstream $upstream_addr always;'$'\n'
fi
if [[ -n $prefix ]]; then
  mkdir -p "$prefix"
  prefix=$(cd "$prefix" && pwd)
  access_log="$prefix/access.log"
else
  access_log=/var/log/nginx/access.log
fi

render() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    case $line in
      @UPSTREAM_SERVERS@) printf '%s' "$server_lines" ;;
      @LISTEN@) printf '%s' "$listen_lines" ;;
      @EXTRA_SERVER@) printf '%s' "$extra" ;;
      *)
        line=${line//@HASH_KEY@/$hash_key}
        line=${line//@ACCESS_LOG@/$access_log}
        line=${line//@MAX_BODY_BYTES@/$max_body}
        printf '%s\n' "$line" ;;
    esac
  done <"$here/parley.conf.template"
}

if [[ -z $prefix ]]; then
  render
  exit 0
fi

mkdir -p "$prefix/tmp"
render >"$prefix/parley.conf"
cat >"$prefix/nginx.conf" <<EOF
# Self-contained nginx for tests (made by deploy/nginx/render.sh). Run as any user:
#   nginx -p $prefix -c $prefix/nginx.conf -g 'daemon off;'
worker_processes 1;
worker_rlimit_nofile 8192;
pid $prefix/nginx.pid;
error_log $prefix/error.log notice;

events {
    worker_connections 4096;
}

http {
    client_body_temp_path $prefix/tmp/client_body;
    proxy_temp_path       $prefix/tmp/proxy;
    fastcgi_temp_path     $prefix/tmp/fastcgi;
    uwsgi_temp_path       $prefix/tmp/uwsgi;
    scgi_temp_path        $prefix/tmp/scgi;
    default_type application/octet-stream;
    include $prefix/parley.conf;
}
EOF
echo "$prefix/nginx.conf"
