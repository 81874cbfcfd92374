#!/usr/bin/env bash
# Installs what test/env/rabbitmq.ts needs: Debian's rabbitmq-server (with its Erlang runtime),
# only when /usr/lib/rabbitmq/bin/rabbitmq-server is missing. Non-interactive; runs as root or
# through `sudo -n`. The tests run their own node on private ports, so the package's system
# service must not run: a temporary policy-rc.d keeps the maintainer scripts from starting it
# (Docker-style images already have one), and whatever started anyway is stopped and disabled.
#
# Kafka needs nothing from here: test/env/kafka.ts resolves its jars with Maven (Java 17 + mvn).
#
#   bash test/env/install-brokers.sh        exit 0 when rabbitmq-server is (now) installed
set -euo pipefail
exec </dev/null

log() { printf '[install-brokers] %s\n' "$*" >&2; }

RABBITMQ_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
if [[ -x "$RABBITMQ_SERVER" ]]; then
  log "rabbitmq-server present ($RABBITMQ_SERVER)"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n)
  else
    log "need root or sudo to install rabbitmq-server"
    exit 1
  fi
fi

POLICY=/usr/sbin/policy-rc.d
own_policy=0
cleanup() {
  if ((own_policy)); then "${sudo[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT
if [[ ! -e "$POLICY" ]]; then
  # 101 = "action forbidden": invoke-rc.d / deb-systemd-invoke then start no service.
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$POLICY" >/dev/null
  "${sudo[@]}" chmod 0755 "$POLICY"
  own_policy=1
fi

start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
"${sudo[@]}" apt-get update -qq
log "apt-get install rabbitmq-server"
"${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold rabbitmq-server >&2

# Make sure no system node is left running or starts at boot.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  "${sudo[@]}" systemctl disable --now rabbitmq-server.service >/dev/null 2>&1 || true
  "${sudo[@]}" systemctl disable --now epmd.socket epmd.service >/dev/null 2>&1 || true
elif command -v update-rc.d >/dev/null 2>&1 && [[ -e /etc/init.d/rabbitmq-server ]]; then
  "${sudo[@]}" update-rc.d rabbitmq-server disable >/dev/null 2>&1 || true
fi
if pgrep -u rabbitmq -f 'beam|epmd' >/dev/null 2>&1; then
  log "the package started a system node; stopping it"
  if command -v service >/dev/null 2>&1; then "${sudo[@]}" service rabbitmq-server stop >&2 || true; fi
  "${sudo[@]}" pkill -TERM -u rabbitmq 2>/dev/null || true
  for _ in $(seq 50); do
    pgrep -u rabbitmq >/dev/null 2>&1 || break
    sleep 0.2
  done
  "${sudo[@]}" pkill -KILL -u rabbitmq 2>/dev/null || true
fi

if [[ ! -x "$RABBITMQ_SERVER" ]]; then
  log "installed, but $RABBITMQ_SERVER is missing"
  exit 1
fi
log "rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server) installed in $((SECONDS - start)) s"
