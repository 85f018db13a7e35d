#!/usr/bin/env bash
# Installs the servers replicant's demo and tests run against, from Debian's
# packages, when they are missing: redis-server, redis-cli (redis-tools) and
# nutcracker (twemproxy), and Valkey 8 (unpacked from bookworm-backports).
# Safe to run again: it installs only what is absent.
set -euo pipefail

# Valkey 8 (a source and target the tests sync from and to) comes from
# Debian's bookworm-backports: its .deb files are fetched with a private apt
# state, so the system's package lists stay as they are, and unpacked into
# a cache dir, so it does not conflict with redis-server. Its libraries
# (jemalloc, lzf) are installed from Debian's packages when missing.
if [ "$(id -u)" -eq 0 ]; then
  VALKEY_DIR=${VALKEY_DIR:-/var/cache/replicant/valkey-8.0}
else
  VALKEY_DIR=${VALKEY_DIR:-$HOME/.cache/replicant/valkey-8.0}
fi
install_valkey() {
  [ -x "$VALKEY_DIR/usr/bin/valkey-server" ] && return 0
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial"
  echo "deb http://deb.debian.org/debian bookworm-backports main" > "$tmp/sources.list"
  local apt=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=/nonexistent
    -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o APT::Sandbox::User=root)
  echo "install-deps: fetching valkey 8 from bookworm-backports into $VALKEY_DIR" >&2
  apt-get "${apt[@]}" update -qq
  (cd "$tmp" && apt-get "${apt[@]}" download valkey-tools >/dev/null)
  mkdir -p "$VALKEY_DIR"
  dpkg -x "$tmp"/valkey-tools_*.deb "$VALKEY_DIR"
  ln -sf valkey-check-rdb "$VALKEY_DIR/usr/bin/valkey-server"
  rm -rf "$tmp"
  "$VALKEY_DIR/usr/bin/valkey-server" --version >/dev/null
}

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v nutcracker >/dev/null 2>&1 || [ -x /usr/sbin/nutcracker ] || need+=(nutcracker)
for lib in libjemalloc2 liblzf1 libatomic1; do
  dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done
if [ ${#need[@]} -eq 0 ]; then
  install_valkey
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# A policy-rc.d that says no keeps the packages' own services from starting
# on the default ports; it is removed again if this script put it there.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for bin in redis-server redis-cli; do
  command -v "$bin" >/dev/null 2>&1 || { echo "install-deps: $bin still missing" >&2; exit 1; }
done
install_valkey
