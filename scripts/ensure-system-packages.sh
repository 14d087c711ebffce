#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when they are missing.
# Runs as root on a fresh Debian 12 machine (the CI runner); elsewhere it only reports.
set -euo pipefail
needed=(chromium fonts-noto-cjk fonts-noto-core postgresql default-jre-headless redis-server)
# npm installs the test tools (axe-core, vnu.jar); a machine with its own Node.js keeps it.
command -v npm >/dev/null 2>&1 || needed+=(npm)
missing=()
for package in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "Missing Debian packages: ${missing[*]}. Install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
