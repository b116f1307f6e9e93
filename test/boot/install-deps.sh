#!/bin/sh
# Installs what test/boot/run.sh needs on Debian (idempotent: only what is missing; needs root
# or sudo) and fetches the stock Debian kernel into a cache dir WITHOUT installing it (installing
# linux-image-* pulls in a systemd upgrade on a container host):
#   test/boot/install-deps.sh CACHE_DIR      -> CACHE_DIR/kernel/{boot,lib/modules}/..., prints KVER
# udev (initramfs-tools-core needs it, and the initramfs needs it for /dev/disk/by-id) is pinned
# to the installed systemd's version, so installing it never upgrades systemd either.
set -eu
cache=${1:?usage: install-deps.sh CACHE_DIR}
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

updated=
apt_install() {
	if [ -z "$updated" ]; then
		# shellcheck disable=SC2086 # a list of package names
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 && return 0
		$sudo apt-get update -q >&2
		updated=1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}

need=
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
[ -x /usr/sbin/mkinitramfs ] || need="$need initramfs-tools-core"
command -v busybox >/dev/null 2>&1 || need="$need busybox"
command -v cryptsetup >/dev/null 2>&1 || need="$need cryptsetup-bin"
command -v dmsetup >/dev/null 2>&1 || need="$need dmsetup"
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v jq >/dev/null 2>&1 || need="$need jq"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v mkfs.ext4 >/dev/null 2>&1 || need="$need e2fsprogs"
command -v wipefs >/dev/null 2>&1 || need="$need util-linux"
command -v zstd >/dev/null 2>&1 || need="$need zstd"
command -v psql >/dev/null 2>&1 || need="$need postgresql-client"
if ! dpkg-query -W -f='${Status}' udev 2>/dev/null | grep -q 'ok installed'; then
	# Same version as the installed systemd/libudev1, else apt would upgrade systemd with it.
	pin=$(dpkg-query -W -f='${Version}' libudev1 2>/dev/null || true)
	if [ -n "$pin" ]; then need="$need udev=$pin"; else need="$need udev"; fi
fi
if [ -n "$need" ]; then
	echo "boot test: apt-get install$need" >&2
	# shellcheck disable=SC2086
	apt_install $need
fi

# The kernel: the package linux-image-amd64 depends on, downloaded once and unpacked (not installed).
mkdir -p "$cache"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
	$sudo apt-get update -q >&2
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
fi
[ -n "$pkg" ] || { echo "boot test: cannot resolve linux-image-amd64" >&2; exit 1; }
kver=${pkg#linux-image-}
if [ ! -f "$cache/kernel/boot/vmlinuz-$kver" ] || [ ! -f "$cache/kernel/lib/modules/$kver/modules.dep" ]; then
	rm -rf "$cache/kernel" "$cache/deb"
	mkdir -p "$cache/deb"
	echo "boot test: downloading $pkg" >&2
	# apt's sandbox user cannot write into a root-owned cache dir: chmod it for the download.
	chmod 0777 "$cache/deb"
	(cd "$cache/deb" && apt-get download "$pkg" >&2)
	dpkg-deb -x "$cache"/deb/"$pkg"_*.deb "$cache/kernel"
	rm -rf "$cache/deb"
	# The package ships no modules.dep (its postinst runs depmod): make it for the unpacked tree.
	depmod -b "$cache/kernel" "$kver"
fi
echo "$kver"
