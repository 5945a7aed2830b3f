#!/usr/bin/env bash
# Installs the services the tests start themselves, from Debian's packages, when missing:
# redis-server (the cluster tests) and chromium (the browser tests), and luacheck (Debian's
# lua-check, which lints the Redis scripts). Run by `bun run check`,
# so the README's test command does all the set-up on a fresh machine.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v luacheck >/dev/null 2>&1 || missing+=(lua-check)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: please install ${missing[*]} (no apt-get here)" >&2
  exit 1
fi
sudo=''
[ "$(id -u)" -ne 0 ] && sudo='sudo'
echo "test-deps: installing ${missing[*]} from Debian's packages"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
