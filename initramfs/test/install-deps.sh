#!/bin/sh
# Installs what initramfs/test/run.sh needs on Debian/Ubuntu (CI calls this before
# `npm run test:initramfs`). Installs only what is missing; needs root (or sudo).
set -eu
need=
command -v busybox >/dev/null 2>&1 || need="$need busybox"
command -v dash >/dev/null 2>&1 || need="$need dash"
command -v shellcheck >/dev/null 2>&1 || need="$need shellcheck"
command -v cryptsetup >/dev/null 2>&1 || need="$need cryptsetup-bin"
command -v jq >/dev/null 2>&1 || need="$need jq"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v mkfs.ext4 >/dev/null 2>&1 || need="$need e2fsprogs"
command -v wipefs >/dev/null 2>&1 || need="$need util-linux"
[ -n "$need" ] || exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
# shellcheck disable=SC2086 # a list of package names
$sudo apt-get install -y --no-install-recommends $need ||
	{ $sudo apt-get update && $sudo apt-get install -y --no-install-recommends $need; }
