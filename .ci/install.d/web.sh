#!/usr/bin/env bash
# The browser editor (extensions/web): its Node packages from package-lock.json, and the page built into
# extensions/web/dist/ for tests/editors/test_web.py. Headless Chromium comes from browser.sh.
# Idempotent: `npm ci` replaces node_modules, the build replaces dist/.
set -euo pipefail
cd "$(dirname "$0")/../../extensions/web"

# Vite 8 needs Node ^20.19 or >=22.12.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then
  echo "extensions/web needs Node.js ^20.19 or >=22.12 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
test -f dist/index.html
