#!/usr/bin/env bash
# Installs the benchmark's peers from Debian's packages: rsyslog with apt, and syslog-ng
# unpacked beside the bench (apt will not install it next to rsyslog): its package and every
# dependency not installed here are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into $1 (default bench/out/peers/syslog-ng). Prints the unpacked root.
set -euo pipefail
root="${1:-$(dirname "$0")/../out/peers/syslog-ng}"
export DEBIAN_FRONTEND=noninteractive

if ! command -v rsyslogd >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends rsyslog >/dev/null
fi

if [ ! -x "$root/usr/sbin/syslog-ng" ]; then
  mkdir -p "$root/debs"
  declare -A seen=()
  queue=(syslog-ng-core)
  while [ ${#queue[@]} -gt 0 ]; do
    pkg="${queue[0]}"
    queue=("${queue[@]:1}")
    [ -n "${seen[$pkg]:-}" ] && continue
    seen[$pkg]=1
    # A dependency already installed is used from the system.
    if [ "$pkg" != syslog-ng-core ] && dpkg -s "$pkg" >/dev/null 2>&1; then continue; fi
    (cd "$root/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg")
    for dep in $(apt-cache depends "$pkg" | awk '/^ *\|?Depends: [^<]/ {print $2}'); do queue+=("$dep"); done
  done
  for deb in "$root"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
fi
echo "$root"
