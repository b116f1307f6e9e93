#!/bin/sh
# Installs what test/deploy/run.ts needs on Debian, only when missing (needs root or sudo):
# Debian's nginx (nginx-light). The test runs nginx as its own foreground process with its own
# prefix and configuration on loopback ports; it never uses /etc/nginx or the nginx service.
# (On Debian container images /usr/sbin/policy-rc.d keeps apt from starting the service.)
set -eu
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

for nginx in /usr/sbin/nginx /usr/local/sbin/nginx /usr/bin/nginx; do
	[ -x "$nginx" ] && exit 0
done

echo "deploy test: apt-get install nginx-light" >&2
if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >&2; then
	$sudo apt-get update -q >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >&2
fi
