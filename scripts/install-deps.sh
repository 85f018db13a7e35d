#!/usr/bin/env bash
# Installs the servers replicant's demo and tests run against, from Debian's
# packages, when they are missing: redis-server, redis-cli (redis-tools) and
# nutcracker (twemproxy); Valkey 8.0 and Redis 8.0, unpacked (see below).
# Safe to run again: it installs only what is absent.
set -euo pipefail

# Newer servers the tests sync from and to, unpacked from Debian's own
# packages into a cache dir (no conflict with redis-server): Valkey 8.0 from
# bookworm-backports, and Redis 8.0 from trixie, which runs here with
# trixie's own loader and libraries beside it (a wrapper script starts it).
# The .deb files are fetched with a private apt state, so the system's
# package lists stay as they are.
if [ "$(id -u)" -eq 0 ]; then
  CACHE_DIR=${REPLICANT_CACHE:-/var/cache/replicant}
else
  CACHE_DIR=${REPLICANT_CACHE:-$HOME/.cache/replicant}
fi

# fetch_debs DIR SUITE PACKAGE...: the packages of Debian's SUITE, unpacked
# into DIR.
fetch_debs() {
  local dir=$1 suite=$2; shift 2
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs"
  echo "deb http://deb.debian.org/debian $suite main" > "$tmp/sources.list"
  local apt=(-o Dir::Etc::sourcelist="$tmp/sources.list" -o Dir::Etc::sourceparts=/nonexistent
    -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache" -o Dir::State::status=/dev/null
    -o APT::Sandbox::User=root)
  echo "install-deps: unpacking $* from Debian $suite into $dir" >&2
  apt-get "${apt[@]}" update -qq
  (cd "$tmp/debs" && apt-get "${apt[@]}" download "$@" >/dev/null)
  mkdir -p "$dir"
  for deb in "$tmp"/debs/*.deb; do dpkg -x "$deb" "$dir"; done
  rm -rf "$tmp"
}

install_valkey() {
  local dir=$CACHE_DIR/valkey-8.0
  [ -x "$dir/usr/bin/valkey-server" ] && return 0
  fetch_debs "$dir" bookworm-backports valkey-tools
  ln -sf valkey-check-rdb "$dir/usr/bin/valkey-server"
  "$dir/usr/bin/valkey-server" --version >/dev/null
}

install_redis8() {
  local dir=$CACHE_DIR/redis-8.0
  [ -x "$dir/redis-server" ] && return 0
  fetch_debs "$dir/root" trixie redis-tools libc6 libstdc++6 libgcc-s1 libssl3t64 libjemalloc2 liblzf1 \
    libatomic1 libsystemd0 libcap2
  ln -sf redis-check-rdb "$dir/root/usr/bin/redis-server"
  cat > "$dir/redis-server" <<'WRAP'
#!/bin/sh
d=$(dirname "$(readlink -f "$0")")/root
exec "$d/usr/lib64/ld-linux-x86-64.so.2" --library-path "$d/usr/lib/x86_64-linux-gnu:$d/lib/x86_64-linux-gnu" "$d/usr/bin/redis-server" "$@"
WRAP
  chmod +x "$dir/redis-server"
  "$dir/redis-server" --version >/dev/null
}

install_newer() {
  install_valkey
  install_redis8
}

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v nutcracker >/dev/null 2>&1 || [ -x /usr/sbin/nutcracker ] || need+=(nutcracker)
for lib in libjemalloc2 liblzf1 libatomic1; do
  dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done
if [ ${#need[@]} -eq 0 ]; then
  install_newer
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
install_newer
