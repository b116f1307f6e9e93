# shellcheck shell=bash
# Helpers of the boot test (run.sh): the broker on PostgreSQL, the initramfs built by
# mkinitramfs with the project's hook, the disk images, one QEMU boot, and assertions.

HOTKEY=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
VM_NAME=boot-test-vm
VOLUME_NAMES=storage,tdx-cache
BROKER_NAME=broker.bootkey.test
# The measurement set the broker accepts; the host's quote service puts these in quotes.
MRTD=$(printf 'a1%.0s' $(seq 48))
RTMR0=$(printf 'b2%.0s' $(seq 48))
RTMR1=$(printf 'c3%.0s' $(seq 48))
RTMR2=$(printf 'd4%.0s' $(seq 48))
RTMR3=$(printf '00%.0s' $(seq 48))
GOOD_FORGE_ARGS="--mrtd $MRTD --rtmr0 $RTMR0 --rtmr1 $RTMR1 --rtmr2 $RTMR2"
# RTMR1 measures the kernel and its command line: what a tampered boot chain changes.
CHANGED_RTMR1=$(printf 'e5%.0s' $(seq 48))
BAD_FORGE_ARGS="--mrtd $MRTD --rtmr0 $RTMR0 --rtmr1 $CHANGED_RTMR1 --rtmr2 $RTMR2"

# log, fail, free_port, build_broker, launch_broker, stop_broker
# shellcheck source=../support/broker.sh
. "$REPO/test/support/broker.sh"

# sql QUERY: one query on the broker's database; rows on stdout, fields separated by |.
sql() {
	psql "$DB_URL" -v ON_ERROR_STOP=1 -X -Atq -c "$1"
}

# ensure_postgres: the local PostgreSQL server (as .ci/run starts it), and a fresh database.
ensure_postgres() {
	if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
		if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
			log "   starting PostgreSQL"
			local version
			for version in /etc/postgresql/*/; do
				version=${version%/}
				pg_ctlcluster --skip-systemctl-redirect "${version##*/}" main start || true
				break
			done
		fi
		local i
		for i in $(seq 1 30); do
			pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
			sleep 1
		done
	fi
	pg_isready -h 127.0.0.1 -p 5432 -q || fail "no PostgreSQL at 127.0.0.1:5432 (user postgres)"
	DB_NAME=bootkey_boot_test_$$
	DB_URL=postgres://postgres@127.0.0.1:5432/$DB_NAME
	dropdb -h 127.0.0.1 -U postgres --if-exists "$DB_NAME" 2>/dev/null
	createdb -h 127.0.0.1 -U postgres "$DB_NAME"
	echo "$DB_NAME" >"$H/database"
}

# setup_home: forge state, the broker's TLS certificate (the name the guest uses, and loopback),
# its KEK, root passphrase and measurement set.
setup_home() {
	mkdir -p "$H/tls" "$H/broker-secrets" "$H/vm" "$H/boots"
	FORGE=$REPO/test/support/forge/forge-quote.cjs
	eval "$(node "$FORGE" --print-env --state-dir "$H/forge")"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$BROKER_NAME" \
		-addext "subjectAltName=DNS:$BROKER_NAME,IP:127.0.0.1" \
		-keyout "$H/tls/server.key" -out "$H/tls/broker-ca.crt" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-client \
		-keyout "$H/tls/client.key" -out "$H/tls/client.crt" 2>/dev/null
	CLIENT_SPKI_SHA256=$(openssl pkey -in "$H/tls/client.key" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	# No trailing newline: the LUKS key on the root image is exactly what the broker releases.
	ROOT_PASSPHRASE_FILE=$H/broker-secrets/root-passphrase
	printf 'rootpw-%s' "$(openssl rand -hex 24)" >"$ROOT_PASSPHRASE_FILE"
	chmod 0600 "$ROOT_PASSPHRASE_FILE"
	cat >"$H/broker-secrets/measurements.yaml" <<-EOF
		measurements:
		  - name: boot-test
		    version: "1"
		    mrtd: "$MRTD"
		    boot_rtmrs: {rtmr0: "$RTMR0", rtmr1: "$RTMR1", rtmr2: "$RTMR2"}
		    runtime_rtmrs: {rtmr0: "$RTMR0", rtmr1: "$RTMR1", rtmr2: "$RTMR2", rtmr3: "$RTMR3"}
		    expected_gpus: []
	EOF
	BROKER_KEKS="boot:$(openssl rand -base64 32)"
	BROKER_PORT=$(free_port)
	BROKER_URL=https://127.0.0.1:$BROKER_PORT
	# The broker's public key as curl pins it (BOOTKEY_PINNED_PUBKEY).
	BROKER_PIN=sha256//$(openssl x509 -in "$H/tls/broker-ca.crt" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | openssl base64 -A)
	start_attestation_service
}

# start_attestation_service: the VM's own attestation service on the host's loopback (what the
# broker calls when the miner registers the VM as a server; host 127.0.0.1 is also where the
# VM's boots come from, through the slirp forward): initramfs/test/node/attestation-service.cjs.
start_attestation_service() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=vm-attestation \
		-keyout "$H/tls/vm-attestation.key" -out "$H/tls/vm-attestation.crt" 2>/dev/null
	# shellcheck disable=SC2086 # GOOD_FORGE_ARGS: --mrtd HEX --rtmr0 HEX ...
	NODE_PATH="$REPO/node_modules" node "$REPO/initramfs/test/node/attestation-service.cjs" \
		--cert "$H/tls/vm-attestation.crt" --key "$H/tls/vm-attestation.key" --forge-dir "$(dirname "$FORGE")" \
		--state-dir "$H/forge" $GOOD_FORGE_ARGS --rtmr3 "$RTMR3" >"$H/attestation-service.port" 2>>"$H/attestation-service.log" &
	echo $! >>"$H/pids"
	local _
	for _ in $(seq 1 40); do
		[ -s "$H/attestation-service.port" ] && break
		sleep 0.5
	done
	ATTESTATION_PORT=$(head -n1 "$H/attestation-service.port")
	[ -n "$ATTESTATION_PORT" ] || fail "the VM's attestation service did not start"
}

# miner METHOD PATH [JSON]: a request signed with the VM's miner hotkey (//Alice), by
# initramfs/test/node/miner.cjs. Sets MINER_STATUS and MINER_BODY.
miner() {
	local out
	out=$(node "$REPO/initramfs/test/node/miner.cjs" --url "$BROKER_URL" --ca "$H/tls/broker-ca.crt" --uri //Alice "$@") ||
		fail "miner request $1 $2 failed"
	MINER_STATUS=$(head -n1 <<<"$out")
	MINER_BODY=$(tail -n +2 <<<"$out")
}

# HOST_TOOLS: host programs the build touches by name (the hook copies them into the image,
# busybox's hook links over them there): host_tool_digests lists their SHA-256, so the driver
# can check at the end that nothing was written through to the host.
HOST_TOOLS="busybox curl jq openssl cryptsetup blkid mkfs.ext4 wipefs udevadm modprobe kmod cp rm"

host_tool_digests() {
	local tool path
	for tool in $HOST_TOOLS; do
		path=$(command -v "$tool" 2>/dev/null) || continue
		path=$(readlink -f "$path")
		echo "$tool $path $(sha256sum <"$path" | cut -d' ' -f1)"
	done
}

# start_broker: the real broker on 127.0.0.1 over HTTPS (client certificates requested), on
# PostgreSQL (its own database), offline DCAP collateral from the forge; waits for /readyz.
start_broker() {
	launch_broker "$H/tls/broker-ca.crt" PORT="$BROKER_PORT" DATABASE_URL="$DB_URL" BROKER_KEKS="$BROKER_KEKS" \
		TLS_CERT_FILE="$H/tls/broker-ca.crt" TLS_KEY_FILE="$H/tls/server.key" \
		DCAP_ROOT_CA_FILE="$DCAP_ROOT_CA_FILE" COLLATERAL_DIR="$COLLATERAL_DIR" \
		MEASUREMENTS_FILE="$H/broker-secrets/measurements.yaml" \
		LUKS_ROOT_PASSPHRASE_FILE="$ROOT_PASSPHRASE_FILE" LUKS_VOLUMES="$VOLUME_NAMES" \
		ATTESTATION_PORT="$ATTESTATION_PORT" ALLOW_PRIVATE_HOSTS=true GPU_EVIDENCE=skip
}

# write_guest_config: /etc/bootkey.conf of the VM (copied into the initramfs by the hook).
write_guest_config() {
	# The hook copies the quote command into the initramfs at the same path.
	install -D -m 0755 "$HERE/guest/bootkey-virtio-quote" "$H/guest-bin/bootkey-virtio-quote"
	cat >"$H/bootkey.conf" <<-EOF
		# bootkey.conf of the boot test's VM (see initramfs/bootkey.conf.example)
		BOOTKEY_URLS="https://$BROKER_NAME"
		# The broker's own CA, and its key pinned (the hook refuses the system CA bundle unpinned).
		BOOTKEY_CA_FILE="$H/tls/broker-ca.crt"
		BOOTKEY_PINNED_PUBKEY="$BROKER_PIN"
		# The VM has no DNS; slirp forwards 10.0.2.100:443 (and nothing else) to the broker.
		BOOTKEY_CURL_RESOLVE="$BROKER_NAME:443:10.0.2.100"
		BOOTKEY_CONNECT_TIMEOUT_S=5
		BOOTKEY_REQUEST_TIMEOUT_S=60
		BOOTKEY_ATTEMPTS=3
		BOOTKEY_BACKOFF_BASE_S=1
		BOOTKEY_BACKOFF_MAX_S=4
		BOOTKEY_JITTER_S=1
		BOOTKEY_DEVICE_WAIT_S=30
		# Disks by virtio serial (udev's /dev/disk/by-id/virtio-<serial>), never by vda/vdb order.
		BOOTKEY_ROOT_DEVICE=/dev/disk/by-id/virtio-bk-root
		BOOTKEY_ROOT_MAPPER=root
		BOOTKEY_VOLUMES="storage,/dev/disk/by-id/virtio-bk-storage tdx-cache,/dev/disk/by-id/virtio-bk-cache"
		BOOTKEY_LUKS_FORMAT_OPTIONS="--pbkdf pbkdf2 --pbkdf-force-iterations 1000"
		BOOTKEY_LUKS_ADDKEY_OPTIONS="--pbkdf pbkdf2 --pbkdf-force-iterations 1000"
		# No TDX module under emulation: the host's quote service answers over virtio-serial.
		BOOTKEY_QUOTE_SOURCE=cmd
		BOOTKEY_QUOTE_CMD=$H/guest-bin/bootkey-virtio-quote
		BOOTKEY_QUOTE_OUTPUT=stdout
		BOOTKEY_POWEROFF_CMD="poweroff -f"
	EOF
}

# build_initramfs: initramfs-tools' own mkinitramfs, with a private config dir holding the
# project's hook and scripts (as installed by initramfs/README.md), MODULES=list plus the
# virtio/dm-crypt/ext4 modules. The unpacked kernel's module tree and config are put at
# /lib/modules/$KVER and /boot/config-$KVER (mkinitramfs reads only there) for the build and
# removed again right after.
build_initramfs() {
	local conf=$H/initramfs-tools
	mkdir -p "$conf/conf.d" "$conf/hooks" "$conf/scripts/init-top" "$conf/scripts/init-premount" \
		"$conf/scripts/init-bottom"
	cp "$HERE/initramfs.conf" "$conf/initramfs.conf"
	cp "$HERE/modules" "$conf/modules"
	install -m 0755 "$REPO/initramfs/hooks/bootkey" "$conf/hooks/bootkey"
	local s
	for s in init-top init-premount init-bottom; do
		install -m 0755 "$REPO/initramfs/scripts/$s/bootkey" "$conf/scripts/$s/bootkey"
	done
	write_guest_config
	temp_copy "$KDIR/lib/modules/$KVER" "/lib/modules/$KVER"
	temp_copy "$KDIR/boot/config-$KVER" "/boot/config-$KVER"
	local status=0
	BOOTKEY_CONF_SRC=$H/bootkey.conf BOOTKEY_LIB_SRC=$REPO/initramfs/lib/bootkey-functions \
		TMPDIR=$H mkinitramfs -d "$conf" -o "$H/initrd.img" "$KVER" >"$H/mkinitramfs.log" 2>&1 || status=$?
	remove_temp_copies
	if [ "$status" -ne 0 ]; then
		sed 's/^/      | /' "$H/mkinitramfs.log" >&2
		fail "mkinitramfs exited $status"
	fi
	lsinitramfs "$H/initrd.img" >"$H/initrd.list"
	local want
	# (With merged /usr, /lib is a link to usr/lib inside the image too.)
	for want in scripts/init-top/bootkey scripts/init-premount/bootkey scripts/init-bottom/bootkey \
		lib/bootkey/bootkey-functions etc/bootkey.conf "${H#/}/guest-bin/bootkey-virtio-quote" \
		"${H#/}/tls/broker-ca.crt" scripts/functions bin/busybox; do
		grep -Eqx "(usr/)?$want" "$H/initrd.list" || fail "the initramfs lacks $want"
	done
	# The tools the scripts run must be the real ones, not busybox applets of the same name.
	unmkinitramfs "$H/initrd.img" "$H/initrd-tree"
	local tree=$H/initrd-tree
	[ -d "$tree/main" ] && tree=$tree/main
	for want in curl jq openssl cryptsetup blkid mkfs.ext4 wipefs udevadm ipconfig; do
		local found
		found=$(PATH=$tree/usr/sbin:$tree/usr/bin:$tree/sbin:$tree/bin command -v "$want") ||
			fail "the initramfs lacks $want"
		if cmp -s "$(readlink -f "$found")" "$tree/usr/bin/busybox"; then
			fail "$want in the initramfs is busybox's applet, not the real tool"
		fi
	done
	for want in virtio_pci virtio_blk virtio_net virtio_console dm-crypt dm-mod ext4 jbd2 mbcache xts; do
		grep -Eq "/$want\\.ko(\\.[a-z]+)?\$" "$H/initrd.list" || fail "the initramfs lacks the module $want"
	done
}

# temp_copy SOURCE DEST: a copy of SOURCE (a file or a tree) at DEST for the build, as hard links
# where the filesystem allows (instant, no space), unless DEST exists; recorded, with any parent
# directory made for it, so remove_temp_copies takes exactly these away again. (A symlink would
# not do: mkinitramfs copies a symlinked module tree as links to the cache dir.)
temp_copy() {
	[ ! -e "$2" ] && [ ! -L "$2" ] || return 0
	if [ ! -d "$(dirname "$2")" ]; then
		mkdir -p "$(dirname "$2")"
		echo "dir $(dirname "$2")" >>"$H/temp-copies"
	fi
	echo "copy $2" >>"$H/temp-copies"
	cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }
}

remove_temp_copies() {
	[ -s "$H/temp-copies" ] || return 0
	local kind path
	# Newest first: the copies before the directories made for them.
	tac "$H/temp-copies" | while read -r kind path; do
		case $kind in
		copy) rm -rf "$path" ;;
		dir) rmdir "$path" 2>/dev/null || true ;;
		esac
	done
	rm -f "$H/temp-copies"
}

# make_disks: the VM's disks. root: an ext4 filesystem holding a tiny OS (busybox, its
# libraries, guest/init as /sbin/init, a random root id), encrypted in place on the host into
# LUKS2 with the broker's root passphrase (cryptsetup reencrypt --encrypt works on an image
# file without device-mapper); config: ext4 labelled tdx-config; storage and cache: blank.
make_disks() {
	local tree=$H/rootfs lib
	mkdir -p "$tree/bin" "$tree/sbin" "$tree/etc" "$tree/dev" "$tree/proc" "$tree/sys" "$tree/run" \
		"$tree/tmp" "$tree/mnt/storage" "$tree/mnt/cache"
	cp "$(command -v busybox)" "$tree/bin/busybox"
	for lib in $(ldd "$(command -v busybox)" | grep -o '/[^ ]*'); do
		mkdir -p "$tree$(dirname "$lib")"
		cp -L "$lib" "$tree$lib"
	done
	local applet
	for applet in $(busybox --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$tree/bin/$applet"
	done
	install -m 0755 "$HERE/guest/init" "$tree/sbin/init"
	ROOT_ID=$(openssl rand -hex 8)
	echo "$ROOT_ID" >"$tree/etc/bootkey-root-id"
	echo "$ROOT_ID" >"$H/vm/root-id"
	# 96 MiB image: 40 MiB filesystem, room for the LUKS2 header (16 MiB) and reencrypt's shift.
	truncate -s 96M "$H/vm/root.img"
	mkfs.ext4 -q -L rootfs -d "$tree" "$H/vm/root.img" 40M
	cryptsetup reencrypt -q --encrypt --type luks2 --reduce-device-size 32M --label root \
		--pbkdf argon2id --pbkdf-memory 65536 --pbkdf-parallel 1 --pbkdf-force-iterations 4 \
		--key-file "$ROOT_PASSPHRASE_FILE" "$H/vm/root.img" >"$H/reencrypt.log" 2>&1 ||
		{ cat "$H/reencrypt.log" >&2; fail "cannot encrypt the root image"; }
	cryptsetup isLuks "$H/vm/root.img" || fail "the root image is not LUKS"

	mkdir -p "$H/config-volume"
	echo "$VM_NAME" >"$H/config-volume/hostname"
	echo "$HOTKEY" >"$H/config-volume/miner-ss58"
	printf 'network:\n  version: 2\n  ethernets:\n    eth0: {dhcp4: true}\n' >"$H/config-volume/network-config.yaml"
	truncate -s 8M "$H/vm/config.img"
	mkfs.ext4 -q -L tdx-config -d "$H/config-volume" "$H/vm/config.img"
	truncate -s 64M "$H/vm/storage.img" "$H/vm/cache.img" "$H/vm/blank.img"
}

luks_uuid() {
	cryptsetup luksUUID "$1"
}

luks_label() {
	cryptsetup luksDump "$1" | sed -n 's/^Label:[[:space:]]*//p'
}

# boot NAME FORGE_ARGS DRIVE...: one boot of the VM, drives attached in the given order, each
# IMAGE (root, config, storage, cache, blank: $H/vm/IMAGE.img with serial bk-IMAGE) or
# IMAGE=SERIAL (that image under another serial: blank=storage shows the blank disk where the
# guest looks for storage), with its own quote service. Waits until QEMU exits (the guest
# powers off) or BOOT_TIMEOUT_S passes. Sets B (the boot dir), QEMU_STATUS (124: timed out),
# BOOT_SECONDS. Console in $B/console.log, the guest's report in $B/report.txt.
boot() {
	local name=$1 forge_args=$2
	shift 2
	B=$H/boots/$name
	mkdir -p "$B"
	: >"$B/report.txt"
	: >"$B/quotes.log"
	local args=() arg
	for arg in $forge_args; do args+=(--forge-arg="$arg"); done
	node "$HERE/host/quote-service.cjs" --socket "$B/quote.sock" --forge "$FORGE" --state-dir "$H/forge" \
		--log "$B/quotes.log" "${args[@]}" >"$B/quote-service.out" 2>"$B/quote-service.err" &
	local qs=$!
	echo "$qs" >>"$H/pids"
	local _
	for _ in $(seq 1 40); do
		grep -q listening "$B/quote-service.out" 2>/dev/null && break
		sleep 0.25
	done
	local drives=() disk image serial
	for disk in "$@"; do
		image=${disk%%=*}
		serial=${disk#*=}
		drives+=(-drive "file=$H/vm/$image.img,format=raw,if=none,id=$image,cache=unsafe"
			-device "virtio-blk-pci,drive=$image,serial=bk-$serial")
	done
	local t0=$SECONDS
	QEMU_STATUS=0
	timeout --kill-after=10 "$BOOT_TIMEOUT_S" qemu-system-x86_64 \
		-accel tcg -cpu max -smp 1 -m 512 -nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$B/console.log" \
		-kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$H/initrd.img" \
		-append "console=ttyS0 panic=-1 root=/dev/mapper/root ip=dhcp bootkey_test.broker_port=$BROKER_PORT" \
		"${drives[@]}" \
		-netdev "user,id=net0,restrict=on,guestfwd=tcp:10.0.2.100:443-cmd:socat -lf $H/socat.log - TCP:127.0.0.1:$BROKER_PORT" \
		-device virtio-net-pci,netdev=net0 \
		-device virtio-rng-pci \
		-device virtio-serial-pci \
		-chardev "socket,id=quote,path=$B/quote.sock" -device virtserialport,chardev=quote,name=org.bootkey.quote \
		-chardev "file,id=report,path=$B/report.txt" -device virtserialport,chardev=report,name=org.bootkey.report \
		>"$B/qemu.log" 2>&1 || QEMU_STATUS=$?
	BOOT_SECONDS=$((SECONDS - t0))
	echo "$BOOT_SECONDS" >"$B/seconds"
	echo "$B" >"$H/last-boot"
	kill "$qs" 2>/dev/null || true
	wait "$qs" 2>/dev/null || true
}

# report_get KEY: the value of KEY in the guest's report of the last boot.
report_get() {
	awk -v key="$1=" 'index($0, key) == 1 { print substr($0, length(key) + 1); exit }' "$B/report.txt"
}

# console_has TEXT: the guest's console log of the last boot contains TEXT (within a line).
# (No pipe into grep -q: under pipefail, the writer's SIGPIPE would turn a match into a miss.)
console_has() {
	grep -qF -- "$1" "$B/console.log"
}

expect_powered_off() {
	if [ "$QEMU_STATUS" -eq 124 ] || [ "$QEMU_STATUS" -eq 137 ]; then
		fail "the VM did not stop within $BOOT_TIMEOUT_S s"
	fi
	[ "$QEMU_STATUS" -eq 0 ] || fail "QEMU exited $QEMU_STATUS (see $B/qemu.log)"
	if console_has 'Kernel panic'; then fail "the kernel panicked"; fi
}

# boot_rows / release_rows: the VM's boot_attestations / key_release_events rows since the
# scenario started (T0, the database's clock), one line each.
boot_rows() {
	sql "SELECT outcome || ' ' || coalesce(error_code, '-') || ' ' || coalesce(measurement_name, '-') || ' ' || coalesce(tcb_status, '-')
	       FROM boot_attestations WHERE vm_name = '$VM_NAME' AND created_at >= '$T0' ORDER BY created_at"
}

release_rows() {
	sql "SELECT kind || ' returned=' || returned::text || ' created=' || created::text || ' rekeyed=' || rekeyed::text
	       FROM key_release_events WHERE vm_name = '$VM_NAME' AND created_at >= '$T0' ORDER BY created_at"
}

# broker_keys: the keys the broker holds for the VM, fetched by the initramfs harness's own
# client (a separate attestation, then a sync without rekeying, with `previous: true`). Sets
# BROKER_KEYS (memory only): root_key, volumes {name: current}, previous {name: [earlier]}.
broker_keys() {
	local args=() arg
	for arg in $GOOD_FORGE_ARGS; do args+=(--forge-arg="$arg"); done
	BROKER_KEYS=$(node "$REPO/initramfs/test/node/broker-client.cjs" --url "$BROKER_URL" \
		--ca "$H/tls/broker-ca.crt" --cert "$H/tls/client.crt" --key "$H/tls/client.key" \
		--spki-sha256 "$CLIENT_SPKI_SHA256" --hotkey "$HOTKEY" --vm "$VM_NAME" --volumes "$VOLUME_NAMES" \
		--forge "$FORGE" --forge-state "$H/forge" --previous "${args[@]}")
}

# keyslots IMAGE: how many LUKS2 keyslots IMAGE has in use.
keyslots() {
	cryptsetup luksDump "$1" | grep -c '^[[:space:]]*[0-9][0-9]*: luks2'
}

# expect_opens IMAGE VOLUME: the broker's key for VOLUME opens IMAGE (cryptsetup --test-passphrase).
expect_opens() {
	jq -j --arg n "$2" '.volumes[$n]' <<<"$BROKER_KEYS" |
		cryptsetup open --test-passphrase --type luks --key-file=- "$1" 2>/dev/null ||
		fail "$(basename "$1") does not open with the broker's $2 key"
}
