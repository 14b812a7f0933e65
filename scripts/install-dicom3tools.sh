#!/usr/bin/env bash
# Install Debian's dicom3tools for the dciodvfy tests (tests/recipe/test_dciodvfy.py):
# a de-identified file must have no IOD error its input did not have.
# Needs root (or sudo) and apt.
set -euo pipefail

if command -v dciodvfy >/dev/null 2>&1; then
    echo "install-dicom3tools: dciodvfy already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-dicom3tools: need root or sudo to run apt-get install dicom3tools" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends dicom3tools >/dev/null
echo "install-dicom3tools: $(command -v dciodvfy)"
