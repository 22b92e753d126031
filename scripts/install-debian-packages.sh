#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing. Idempotent.
# The testbed (tools/testbed) adds what its emulated hosts need through the same list.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  openssh-server openssh-client # ssh-remote integration tests run a real sshd on loopback
)
# Packages listed one per line by the tools and packages that need them (comments allowed).
for list in tools/*/debian-packages.txt packages/*/debian-packages.txt; do
  [ -f "$list" ] || continue
  while read -r name _; do
    [ -n "$name" ] && [ "${name#\#}" = "$name" ] && packages+=("$name")
  done <"$list"
done

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
