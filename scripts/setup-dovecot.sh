#!/usr/bin/env bash
# Installs Debian's dovecot-imapd, the real IMAP server the inbox-watcher
# tests run (test/helpers/dovecot.ts starts a private instance per test file:
# its own config, passwd-file users and maildirs in a temporary directory,
# listening on 127.0.0.1 on a free port). The package's own service is kept
# from starting at install (policy-rc.d): nothing of this listens on 143 or
# 993. Needs root (apt-get). Idempotent.
set -euo pipefail

if ! command -v dovecot >/dev/null 2>&1 || ! [ -e /usr/lib/dovecot/imap ]; then
  echo "[dovecot] installing Debian's dovecot-imapd"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the maintainer scripts from starting the system-wide service (no init system here, and no need for it).
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  trap 'if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends dovecot-core dovecot-imapd >/dev/null
fi

# The unprivileged users the private instances run their login and internal processes as.
id dovenull >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin dovenull
id dovecot >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin dovecot
echo "[dovecot] ready: $(dovecot --version)"
