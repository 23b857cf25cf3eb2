#!/usr/bin/env bash
# Installs the pinned client libraries that tests/compat.rs drives: discord.py and zstandard
# (requirements.txt) into tests/compat/.venv, discord.js and zlib-sync (package-lock.json) into
# tests/compat/node_modules. Installs python3-venv, Node.js and a C++ toolchain with apt when they
# are missing. Idempotent: when the installed set matches the pinned files it only checks and exits.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
SUDO=""
if [ "$(id -u)" != 0 ] && have sudo; then SUDO="sudo"; fi
apt_install() {
  if have apt-get; then
    log "installing $*"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
      || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
  else
    echo "cannot install $* (no apt-get); install it by hand" >&2
    return 1
  fi
}
digest() { sha256sum "$1" | cut -d' ' -f1; }

# --- Python: discord.py (zlib-stream and zstd-stream runs) ---
have python3 || apt_install python3
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  # Debian splits venv/ensurepip out of python3; the versioned package is the one that carries it.
  pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  apt_install "python${pyver}-venv" || apt_install python3-venv
fi
want="$(digest requirements.txt)"
if [ -x .venv/bin/python ] && [ "$(cat .venv/.requirements.sha256 2>/dev/null)" = "$want" ] \
  && .venv/bin/python -c 'import discord, zstandard' >/dev/null 2>&1; then
  echo "tests/compat/.venv is up to date"
else
  log "installing discord.py into tests/compat/.venv"
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  .venv/bin/python -c 'import discord, zstandard'
  echo "$want" > .venv/.requirements.sha256
fi

# --- Node.js: discord.js (json and zlib-stream runs) ---
have node && have npm || apt_install nodejs npm
# zlib-sync is a native addon built by node-gyp at install time.
have make || apt_install make
have g++ || apt_install g++
want="$(digest package-lock.json)"
if [ -d node_modules ] && [ "$(cat node_modules/.compat-lock.sha256 2>/dev/null)" = "$want" ] \
  && node -e 'require("discord.js"); require("zlib-sync")' >/dev/null 2>&1; then
  echo "tests/compat/node_modules is up to date"
else
  log "installing discord.js into tests/compat/node_modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  node -e 'require("discord.js"); require("zlib-sync")' \
    || { echo "zlib-sync did not build (needs make, g++ and python3 for node-gyp)" >&2; exit 1; }
  echo "$want" > node_modules/.compat-lock.sha256
fi
