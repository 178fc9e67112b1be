#!/usr/bin/env bash
# Install the system packages the tests drive and start the services they use.
# Idempotent: on a prepared machine it only checks. Needs root (CI runs as root).
set -euo pipefail

need=()
for tool in skopeo podman buildah umoci jq curl chromium; do
  command -v "$tool" >/dev/null || need+=("$tool")
done
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v go >/dev/null || need+=(golang-go)  # builds the Go binaries the scan tests read
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v rpmbuild >/dev/null || need+=(rpm)  # builds real rpm databases for scanner tests
command -v haproxy >/dev/null || need+=(haproxy)  # the balancer in front of replicas
command -v redis-server >/dev/null || need+=(redis-server)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL: start the cluster if it is down, and let loopback connect without a password.
if ! pg_isready -q -h 127.0.0.1; then
  version=$(ls /etc/postgresql | sort -V | tail -1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1

# The suite runs many app instances (and three replicas at once) against this one server:
# Debian's default of 100 connections is too few for their pools; 400 is plenty.
if [ "$(psql -h 127.0.0.1 -U postgres -tAc 'SHOW max_connections')" -lt 400 ]; then
  psql -q -h 127.0.0.1 -U postgres -c "ALTER SYSTEM SET max_connections = 400"
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
  pg_isready -h 127.0.0.1
fi

# Redis: the shared cache replicas may use; start it (nothing on disk) if it is down.
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
redis-cli -h 127.0.0.1 ping
