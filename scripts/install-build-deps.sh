#!/usr/bin/env bash
# What pip needs to build PyICU (the German collation for SQLite): the system's ICU with its
# headers, pkg-config and a C++ compiler. Debian's packages; nothing else is downloaded.
set -euo pipefail
if pkg-config --exists icu-i18n 2>/dev/null && command -v c++ >/dev/null; then exit 0; fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libicu-dev pkg-config g++ >/dev/null
