#!/usr/bin/env bash
# Headless Chromium for the browser-editor and VS Code (code-server) end-to-end tests, driven by
# playwright-core (which cannot download browsers here: it uses /usr/bin/chromium).
set -euo pipefail
if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core
fi
