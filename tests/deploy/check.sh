#!/usr/bin/env bash
# Keeps deploy/ valid without docker (CTest: deploy_check; run by hand from anywhere):
#   1. shell scripts parse; deploy/nginx/parley.conf is render.sh's default output;
#   2. nginx (Debian's) passes `nginx -t` on the rendered self-contained config and, started with
#      it in front of two stand-in processes, proxies as Parley needs (tests/deploy/nginx_live.py:
#      headers, WebSocket upgrade, sticky /socket.io/, body limit, /metrics refused, failover);
#   3. the systemd unit passes `systemd-analyze verify` without a warning (when systemd is there);
#   4. compose.yaml parses and is wired as documented (python3-yaml when present, else a
#      structural check); the Dockerfile has its stages, user, health check and copied files;
#   5. the runtime package list can be derived from a built binary (PARLEY_BINARY, optional);
#   6. init-db.sql creates a role and a database it can build tables in (PARLEY_TEST_POSTGRES_URL,
#      optional: run-tests.sh starts one).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-deploy-check.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

fail() { echo "deploy-check: FAIL: $*" >&2; exit 1; }
step() { echo "deploy-check: $*"; }

# --- 1. scripts, generated nginx config -------------------------------------------------------
for script in deploy/nginx/render.sh deploy/runtime-packages.sh deploy/docker-entrypoint.sh \
              scripts/install-deps.sh tests/deploy/check.sh; do
  bash -n "$script" || fail "$script does not parse"
  [[ -x $script ]] || fail "$script is not executable"
done
diff -u deploy/nginx/parley.conf <(env -u PARLEY_MAX_UPLOAD_BYTES deploy/nginx/render.sh) >"$work/nginx.diff" ||
  fail "deploy/nginx/parley.conf differs from the template; run: deploy/nginx/render.sh > deploy/nginx/parley.conf
$(cat "$work/nginx.diff")"
step "scripts parse; nginx/parley.conf matches its template"

# --- 2. nginx -----------------------------------------------------------------------------------
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[[ -x $nginx ]] || fail "nginx not found (scripts/install-deps.sh test installs Debian's nginx)"
python3 tests/deploy/nginx_live.py "$nginx" deploy/nginx/render.sh "$work" ||
  fail "nginx in front of two processes (see above)"
step "nginx -t and live proxy checks passed ($("$nginx" -v 2>&1))"

# --- 3. systemd ---------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify wants the binaries to exist; everything else is checked as written.
  sed 's|/opt/parley/parley|/bin/true|g' deploy/systemd/parley.service >"$work/parley.service"
  out=$(systemd-analyze verify "$work/parley.service" 2>&1) || fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify warns: $out"
  unit=deploy/systemd/parley.service
  for line in 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' 'Restart=on-failure' \
              'EnvironmentFile=/etc/parley/parley.env' 'ExecStartPre=/opt/parley/parley migrate' \
              'ReadWritePaths=/var/lib/parley' 'User=parley'; do
    grep -qxF "$line" "$unit" || fail "$unit lacks $line"
  done
  stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
  [[ -n $stop && $stop -gt 20 ]] || fail "TimeoutStopSec must exceed PARLEY_SHUTDOWN_TIMEOUT_MS (20 s)"
  step "systemd unit verified"
else
  step "systemd-analyze not installed: unit not verified"
fi

# --- 4. compose and Dockerfile ------------------------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null; then
  python3 - deploy <<'EOF' || fail "deploy/compose.yaml (see above)"
import os, re, sys, yaml
deploy = sys.argv[1]
text = open(os.path.join(deploy, "compose.yaml")).read()
doc = yaml.safe_load(text)
problems = []
def need(cond, msg):
    if not cond:
        problems.append(msg)
services = doc.get("services", {})
for name in ["parley-1", "parley-2", "postgres", "redis", "nginx"]:
    need(name in services, f"service {name} missing")
if problems:
    sys.exit("\n".join(problems))
envs = [services[n].get("environment", {}) for n in ("parley-1", "parley-2")]
ids = [e.get("PARLEY_NODE_ID") for e in envs]
need(all(ids) and ids[0] != ids[1], f"PARLEY_NODE_ID must be set and distinct: {ids}")
for e in envs:
    need(str(e.get("DATABASE_URL", "")).startswith("postgresql://"), "DATABASE_URL is not PostgreSQL")
    need(str(e.get("REDIS_URL", "")).startswith("redis://"), "REDIS_URL missing")
    for secret in ("SECRET_KEY", "JWT_SECRET_KEY"):
        need(secret not in e, f"{secret} must come from the env file, not compose.yaml")
for n in ("parley-1", "parley-2"):
    s = services[n]
    need(s.get("env_file"), f"{n}: no env_file")
    upload = s.get("environment", {}).get("UPLOAD_DIR")
    mounts = [v for v in s.get("volumes", []) if v.split(":")[1] == upload]
    need(len(mounts) == 1 and mounts[0].split(":")[0] in (doc.get("volumes") or {}),
         f"{n}: UPLOAD_DIR {upload} is not a shared named volume")
need(services["parley-1"]["volumes"] == services["parley-2"]["volumes"], "processes mount different volumes")
for n, s in services.items():
    for dep, cond in (s.get("depends_on") or {}).items():
        need(dep in services, f"{n} depends on unknown {dep}")
        if cond.get("condition") == "service_healthy":
            need("healthcheck" in services.get(dep, {}), f"{n} waits for {dep}, which has no healthcheck")
need(str(services["postgres"]["image"]).startswith("postgres:15"), "PostgreSQL is not 15")
need(str(services["redis"]["image"]).startswith("redis:7"), "Redis is not 7")
for n, s in services.items():
    for v in s.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith("./"):
            need(os.path.exists(os.path.join(deploy, src)), f"{n} mounts missing {src}")
need(any(v.split(":")[1].startswith("/docker-entrypoint-initdb.d/") and "init-db.sql" in v
         for v in services["postgres"].get("volumes", [])), "init-db.sql is not mounted")
need(os.path.exists(os.path.join(deploy, "parley.env.example")), "parley.env.example missing")
example = open(os.path.join(deploy, "env.example")).read()
for var, default in re.findall(r"\$\{([A-Z0-9_]+)(:-)?", text):
    need(default or re.search(rf"^{var}=", example, re.M), f"${{{var}}} is not in env.example")
nginx = open(os.path.join(deploy, "nginx", "parley.conf")).read()
for n in ("parley-1", "parley-2"):
    need(f"server {n}:5000 " in nginx, f"nginx/parley.conf does not proxy to {n}:5000")
if problems:
    sys.exit("\n".join(problems))
EOF
  step "compose.yaml parses and is wired as documented"
else
  grep -q $'\t' deploy/compose.yaml && fail "deploy/compose.yaml contains a tab"
  for name in parley-1 parley-2 postgres redis nginx; do
    grep -q "^  $name:\$" deploy/compose.yaml || fail "deploy/compose.yaml has no service $name"
  done
  step "compose.yaml structure checked (no python3-yaml for a full parse)"
fi

dockerfile=deploy/Dockerfile
grep -qE '^FROM debian:bookworm AS build$' $dockerfile || fail "$dockerfile: no debian:bookworm build stage"
grep -qE '^FROM debian:bookworm-slim AS runtime$' $dockerfile || fail "$dockerfile: no bookworm-slim runtime"
grep -qE '^USER parley$' $dockerfile || fail "$dockerfile: does not run as parley"
grep -qE '^EXPOSE 5000$' $dockerfile || fail "$dockerfile: no EXPOSE 5000"
grep -qE '^HEALTHCHECK .*' $dockerfile && grep -q '/healthz' $dockerfile || fail "$dockerfile: no /healthz HEALTHCHECK"
while read -r src; do
  [[ -e $src ]] || fail "$dockerfile copies $src, which does not exist"
done < <(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' $dockerfile | grep -v '^\.$')
for ignored in build/ node_modules/ instance/ uploads/; do
  grep -qxF "$ignored" .dockerignore || fail ".dockerignore does not exclude $ignored"
done
step "Dockerfile and .dockerignore checked"

# --- 5. runtime packages of a built binary ------------------------------------------------------
if [[ -n ${PARLEY_BINARY:-} && -x ${PARLEY_BINARY:-} ]]; then
  decoder=$(dirname "$PARLEY_BINARY")/parley-audio-decoder
  packages=$(deploy/runtime-packages.sh "$PARLEY_BINARY" "$decoder") ||
    fail "runtime-packages.sh cannot map every library of $PARLEY_BINARY"
  for pkg in libpq5 libsqlite3-0 libcurl4; do
    grep -qx "$pkg" <<<"$packages" || fail "runtime-packages.sh misses $pkg"
  done
  step "runtime packages of $(basename "$PARLEY_BINARY"): $(echo $packages)"
fi

# --- 6. init-db.sql on a real PostgreSQL --------------------------------------------------------
if [[ -n ${PARLEY_TEST_POSTGRES_URL:-} ]] && command -v psql >/dev/null 2>&1; then
  suffix=$$_$RANDOM
  user=parley_deploy_$suffix db=parley_deploy_db_$suffix
  admin=$PARLEY_TEST_POSTGRES_URL
  cleanup_db() {
    psql "$admin" -X -q -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $user" >/dev/null 2>&1 || true
    rm -rf -- "$work"
  }
  trap cleanup_db EXIT
  if psql "$admin" -X -q -f deploy/init-db.sql >/dev/null 2>&1; then
    fail "init-db.sql ran without PARLEY_DB_PASSWORD"
  fi
  PARLEY_DB_PASSWORD=deploycheck PARLEY_DB_USER=$user PARLEY_DB_NAME=$db \
    psql "$admin" -X -q -f deploy/init-db.sql >"$work/init-db.log" 2>&1 ||
    fail "init-db.sql: $(cat "$work/init-db.log")"
  # The same server, as the new role, in the new database.
  as_role=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit((p.scheme, f"{sys.argv[2]}:deploycheck@{p.hostname}:{p.port}", "/" + sys.argv[3], "", "")))' \
            "$admin" "$user" "$db")
  got=$(psql "$as_role" -X -At -c "CREATE TABLE t (x int)" -c "DROP TABLE t" \
          -c "SELECT current_user, pg_encoding_to_char(encoding), current_setting('TimeZone') FROM pg_database WHERE datname = current_database()" 2>&1) ||
    fail "the role made by init-db.sql cannot create tables: $got"
  [[ $(tail -n 1 <<<"$got") == "$user|UTF8|UTC" ]] || fail "init-db.sql made: $got"
  step "init-db.sql creates a working role and database"
fi

step "ok"
