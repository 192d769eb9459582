#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for tests/test_browser.py, only when
# /usr/bin/chromium or /usr/bin/chromedriver is missing (a second run does nothing).
# Needs root and Debian's package archive; touches nothing else.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "install-browser: chromium and chromedriver already installed"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver
test -x /usr/bin/chromium && test -x /usr/bin/chromedriver
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
