# shellcheck shell=bash
# Helpers of the initramfs test driver (run.sh): the test home, the broker under test, fake VMs
# (disk images, config volume, per-boot initramfs trees), running one stage of the real scripts
# under a given shell, and assertions. Bash; the scripts under test stay POSIX sh.

VOLUME_NAMES=storage,tdx-cache
HOTKEY=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
# The measurements the broker accepts (and the forge puts in quotes unless a VM says otherwise).
MRTD=$(printf 'a1%.0s' $(seq 48))
RTMR0=$(printf 'b2%.0s' $(seq 48))
RTMR1=$(printf 'c3%.0s' $(seq 48))
RTMR2=$(printf 'd4%.0s' $(seq 48))
RTMR3=$(printf '00%.0s' $(seq 48))
GOOD_FORGE_ARGS="--mrtd $MRTD --rtmr0 $RTMR0 --rtmr1 $RTMR1 --rtmr2 $RTMR2"

# log, fail, free_port, build_broker, launch_broker, stop_broker
# shellcheck source=../../test/support/broker.sh
. "$REPO/test/support/broker.sh"

# setup_home: the shared test home $H: real tool paths for the shims, a busybox applet dir,
# forge state, the broker's TLS certificate, its root passphrase and measurements, and a
# client certificate for the test's own broker client.
setup_home() {
	mkdir -p "$H/bin-busybox" "$H/tls" "$H/broker-secrets" "$H/vms" "$H/state"
	ln -s "$HERE/fakes" "$H/fakes"
	{
		echo "REAL_CRYPTSETUP=$(command -v cryptsetup)"
		echo "REAL_MKFS_EXT4=$(command -v mkfs.ext4)"
		echo "REAL_BLKID=$(command -v blkid)"
		echo "REAL_CURL=$(command -v curl)"
		echo "REAL_MKDIR=$(command -v mkdir)"
		echo "REAL_RMDIR=$(command -v rmdir)"
		echo "REAL_NODE=$(command -v node)"
	} >"$H/real-tools.sh"
	# Under busybox, the scripts get busybox's applets (as in a real initramfs) for everything
	# that is not a shim or one of the tools the hook copies.
	local applet
	for applet in sh cat cmp cp chmod cut date env find grep head ln ls mkfifo mktemp mv od readlink rm sed sleep sort tail tee timeout tr truncate wc; do
		ln -s "$(command -v busybox)" "$H/bin-busybox/$applet"
	done
	FORGE=$REPO/test/support/forge/forge-quote.cjs
	eval "$(node "$FORGE" --print-env --state-dir "$H/forge")"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-keyout "$H/tls/server.key" -out "$H/tls/server.crt" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-client \
		-keyout "$H/tls/client.key" -out "$H/tls/client.crt" 2>/dev/null
	CLIENT_SPKI_SHA256=$(openssl pkey -in "$H/tls/client.key" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	# A recognisable root passphrase, so leak checks can grep for it; no trailing newline, so the
	# harness's own luksFormat --key-file uses exactly what the broker releases.
	ROOT_PASSPHRASE_FILE=$H/broker-secrets/root-passphrase
	printf 'rootpw-%s' "$(openssl rand -hex 24)" >"$ROOT_PASSPHRASE_FILE"
	cat >"$H/broker-secrets/measurements.yaml" <<-EOF
		measurements:
		  - name: initramfs-test
		    version: "1"
		    mrtd: "$MRTD"
		    boot_rtmrs: {rtmr0: "$RTMR0", rtmr1: "$RTMR1", rtmr2: "$RTMR2"}
		    runtime_rtmrs: {rtmr0: "$RTMR0", rtmr1: "$RTMR1", rtmr2: "$RTMR2", rtmr3: "$RTMR3"}
		    expected_gpus: []
	EOF
	BROKER_PORT=$(free_port)
	BROKER_URL=https://127.0.0.1:$BROKER_PORT
	start_attestation_service
}

# HOST_TOOLS: the host programs the harness shadows (shims on PATH, the hook's copies, busybox's
# applet links): host_tool_digests lists their SHA-256, so the driver can check at the end that
# nothing was written through to them.
HOST_TOOLS="busybox dash cryptsetup curl blkid mkdir rmdir mkfs.ext4 modprobe mount umount jq openssl wipefs cp rm"

# host_tool_digests: "path sha256" of every HOST_TOOLS program that exists (links resolved).
host_tool_digests() {
	local tool path
	for tool in $HOST_TOOLS; do
		path=$(command -v "$tool" 2>/dev/null) || continue
		path=$(readlink -f "$path")
		echo "$tool $path $(sha256sum <"$path" | cut -d' ' -f1)"
	done
}

# start_attestation_service: the VM's own attestation service (node/attestation-service.cjs) on
# loopback with its own TLS key, answering with the accepted measurements; the broker calls it
# when a miner registers a server (ATTESTATION_PORT). Sets ATTESTATION_PORT.
start_attestation_service() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=vm-attestation \
		-keyout "$H/tls/vm-attestation.key" -out "$H/tls/vm-attestation.crt" 2>/dev/null
	# shellcheck disable=SC2086 # GOOD_FORGE_ARGS: --mrtd HEX --rtmr0 HEX ...
	NODE_PATH="$REPO/node_modules" node "$HERE/node/attestation-service.cjs" --cert "$H/tls/vm-attestation.crt" \
		--key "$H/tls/vm-attestation.key" --forge-dir "$(dirname "$FORGE")" --state-dir "$H/forge" \
		$GOOD_FORGE_ARGS --rtmr3 "$RTMR3" >"$H/attestation-service.port" 2>>"$H/attestation-service.log" &
	echo $! >>"$H/pids"
	ATTESTATION_PORT=$(wait_for_port_file "$H/attestation-service.port") || fail "the attestation service did not start"
}

# wait_for_port_file FILE: waits up to 20 s for a helper to print its port into FILE.
wait_for_port_file() {
	local i
	for i in $(seq 1 40); do
		if [ -s "$1" ]; then
			head -n1 "$1"
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# start_broker: the real broker on loopback over HTTPS (client certificates requested), PGlite in
# $H/broker-data (kept across restarts); waits until it answers.
start_broker() {
	launch_broker "$H/tls/server.crt" PORT="$BROKER_PORT" DATA_DIR="$H/broker-data" \
		TLS_CERT_FILE="$H/tls/server.crt" TLS_KEY_FILE="$H/tls/server.key" \
		DCAP_ROOT_CA_FILE="$DCAP_ROOT_CA_FILE" COLLATERAL_DIR="$COLLATERAL_DIR" \
		MEASUREMENTS_FILE="$H/broker-secrets/measurements.yaml" \
		LUKS_ROOT_PASSPHRASE_FILE="$ROOT_PASSPHRASE_FILE" \
		ATTESTATION_PORT="$ATTESTATION_PORT" ALLOW_PRIVATE_HOSTS=true GPU_EVIDENCE=skip
}

# new_vm NAME [FORGE_ARGS]: a fake VM for the current shell: a root image LUKS-formatted with the
# broker's root passphrase, blank storage and cache images, a config volume. Sets VM.
new_vm() {
	VM=$H/vms/$SHELL_NAME-$1
	VM_NAME=$SHELL_NAME-$1
	mkdir -p "$VM/config-volume"
	echo "$VM_NAME" >"$VM/config-volume/hostname"
	echo "$HOTKEY" >"$VM/config-volume/miner-ss58"
	printf 'network:\n  version: 2\n  ethernets:\n    eth0: {dhcp4: true}\n' >"$VM/config-volume/network-config.yaml"
	echo "${2:-$GOOD_FORGE_ARGS}" >"$VM/forge-args"
	truncate -s 32M "$VM/root.img" "$VM/storage.img" "$VM/cache.img"
	cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file="$ROOT_PASSPHRASE_FILE" "$VM/root.img"
	BOOT_COUNT=0
}

# new_boot [CONF_LINES...]: a fresh initramfs tree for the next boot of $VM (BOOT): the stub
# /scripts/functions, the real library, /etc/bootkey.conf (defaults for the tests plus the given
# lines), tmpfs-like /run, /dev/kmsg as a file, and a fake configfs-tsm report directory.
new_boot() {
	BOOT_COUNT=$((BOOT_COUNT + 1))
	BOOT=$VM/boot-$BOOT_COUNT
	mkdir -p "$BOOT/scripts" "$BOOT/lib/bootkey" "$BOOT/etc" "$BOOT/run" "$BOOT/dev/mapper" \
		"$BOOT/sys/kernel/config/tsm/report"
	cp "$HERE/fakes/functions" "$BOOT/scripts/functions"
	cp "$REPO/initramfs/lib/bootkey-functions" "$BOOT/lib/bootkey/bootkey-functions"
	: >"$BOOT/dev/kmsg"
	{
		echo "BOOTKEY_URLS=\"$BROKER_URL\""
		echo "BOOTKEY_CA_FILE=\"$H/tls/server.crt\""
		echo "BOOTKEY_ROOT_DEVICE=\"$VM/root.img\""
		echo "BOOTKEY_VOLUMES=\"storage,$VM/storage.img tdx-cache,$VM/cache.img,tdx-cache,cache\""
		echo "BOOTKEY_LUKS_FORMAT_OPTIONS=\"--pbkdf pbkdf2 --pbkdf-force-iterations 1000\""
		echo "BOOTKEY_LUKS_ADDKEY_OPTIONS=\"--pbkdf pbkdf2 --pbkdf-force-iterations 1000\""
		echo "BOOTKEY_POWEROFF_CMD=\"$H/fakes/poweroff\""
		echo "BOOTKEY_QUOTE_SOURCE=tsm"
		echo "BOOTKEY_ATTEMPTS=3"
		echo "BOOTKEY_BACKOFF_BASE_S=1"
		echo "BOOTKEY_BACKOFF_MAX_S=2"
		echo "BOOTKEY_JITTER_S=1"
		echo "BOOTKEY_RETRY_AFTER_MAX_S=3"
		echo "BOOTKEY_CONNECT_TIMEOUT_S=2"
		echo "BOOTKEY_REQUEST_TIMEOUT_S=30"
		echo "BOOTKEY_DEVICE_WAIT_S=1"
		local line
		for line in "$@"; do echo "$line"; done
	} >"$BOOT/etc/bootkey.conf"
}

# run_stage STAGE: runs the real initramfs/scripts/STAGE/bootkey under the shell under test, in a
# clean environment, with the shims first on PATH. Output in $BOOT/STAGE.log. Sets STAGE_STATUS.
run_stage() {
	local path=$H/fakes/shims
	[ "$SHELL_NAME" != busybox ] || path=$path:$H/bin-busybox
	path=$path:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	STAGE_STATUS=0
	env -i PATH="$path" BOOTKEY_ROOT="$BOOT" BOOTKEY_TEST_HOME="$H" BOOTKEY_TEST_FORGE="$FORGE" \
		timeout 120 $SHELL_CMD "$REPO/initramfs/scripts/$1/bootkey" >"$BOOT/$1.log" 2>&1 || STAGE_STATUS=$?
	# The boot token is a secret too: remember it (in memory) for the leak checks.
	if [ -s "$BOOT/run/bootkey/boot-token" ]; then
		BOOT_TOKENS="${BOOT_TOKENS:-}$(cat "$BOOT/run/bootkey/boot-token")"$'\n'
	fi
	sed 's/^/      | /' "$BOOT/$1.log" >>"$H/scenario-output.log"
}

# boot_vm: init-top, init-premount, init-bottom, stopping at the first failing stage.
boot_vm() {
	run_stage init-top
	[ "$STAGE_STATUS" -eq 0 ] || return 0
	run_stage init-premount
	[ "$STAGE_STATUS" -eq 0 ] || return 0
	run_stage init-bottom
}

# broker_keys [--rekey a,b]: the keys the broker holds for $VM, fetched by the test's own client
# (a separate attestation, a sync with rekey [] and previous: true; with --rekey, the sync an
# intruder claiming this VM's identity would make). Sets BROKER_KEYS (JSON: root_key, volumes
# {name: current}, previous {name: [earlier, newest first]}; memory only).
broker_keys() {
	local args=() arg
	for arg in $(cat "$VM/forge-args"); do args+=(--forge-arg="$arg"); done
	BROKER_KEYS=$(node "$HERE/node/broker-client.cjs" --url "$BROKER_URL" --ca "$H/tls/server.crt" \
		--cert "$H/tls/client.crt" --key "$H/tls/client.key" --spki-sha256 "$CLIENT_SPKI_SHA256" \
		--hotkey "$HOTKEY" --vm "$VM_NAME" --volumes "$VOLUME_NAMES" --forge "$FORGE" \
		--forge-state "$H/forge" --previous "${args[@]}" "$@")
	BROKER_KEYS_SEEN="${BROKER_KEYS_SEEN:-}$(jq -r '.volumes[], .previous[][]' <<<"$BROKER_KEYS")"$'\n'
}

# previous_count NAME: how many earlier generations of volume NAME the broker keeps (BROKER_KEYS).
previous_count() {
	jq -r --arg n "$1" '.previous[$n] | length' <<<"$BROKER_KEYS"
}

# miner METHOD PATH [JSON]: a request signed with the VM's miner hotkey (//Alice, node/miner.cjs).
# Sets MINER_STATUS and MINER_BODY.
miner() {
	local out
	out=$(node "$HERE/node/miner.cjs" --url "$BROKER_URL" --ca "$H/tls/server.crt" --uri //Alice "$@") ||
		fail "miner request $1 $2 failed"
	MINER_STATUS=$(head -n1 <<<"$out")
	MINER_BODY=$(tail -n +2 <<<"$out")
}

# generations VOLUME: the broker's key generations of $VM's VOLUME, "N:state" words, oldest
# first (GET /vms/{vm}/keys signed by the miner: metadata only).
generations() {
	miner GET "/vms/$VM_NAME/keys"
	[ "$MINER_STATUS" = 200 ] || fail "GET /vms/$VM_NAME/keys: $MINER_STATUS $MINER_BODY"
	jq -r --arg v "$1" '[.volumes[] | select(.volume == $v) | .generations[]] | sort_by(.generation) |
		map("\(.generation):\(.state)") | join(" ")' <<<"$MINER_BODY"
}

# keyslots IMAGE: how many LUKS2 keyslots IMAGE has in use.
keyslots() {
	cryptsetup luksDump "$1" | grep -c '^[[:space:]]*[0-9][0-9]*: luks2'
}

# luks_formats_since N: luksFormat calls of $VM after the first N lines of its cryptsetup log.
luks_formats_since() {
	tail -n +"$(($1 + 1))" "$VM/cryptsetup.log" | grep -c luksFormat || true
}

# expect_bottom_powered_off: init-bottom ended in one power-off (root was already open); no
# volume is mapped and the boot token is gone.
expect_bottom_powered_off() {
	[ "$STAGE_STATUS" -ne 0 ] || fail "init-bottom succeeded"
	[ "$(count_lines "$VM/poweroff.log")" -eq 1 ] || fail "expected exactly one power-off"
	grep -q '^<3>bootkey: .*powering off$' "$BOOT/dev/kmsg" || fail "no power-off line in /dev/kmsg"
	[ ! -e "$BOOT/run/bootkey/boot-token" ] || fail "a boot token was left behind"
	[ ! -e "$BOOT/dev/mapper/storage" ] && [ ! -e "$BOOT/dev/mapper/cache" ] || fail "a volume was opened"
}

# move_disk FROM TO: moves a fake VM disk image (with the file standing for its decrypted
# contents) within $VM, as a host re-attaching disks differently would.
move_disk() {
	mv "$VM/$1" "$VM/$2"
	if [ -e "$VM/$1.plain" ]; then mv "$VM/$1.plain" "$VM/$2.plain"; else rm -f "$VM/$2.plain"; fi
}

# start_answer_dropper PLAN: a front of the broker that loses the answers of the connections
# PLAN says (node/answer-dropper.cjs). Prints its port; its pid goes to $H/pids.
start_answer_dropper() {
	local out=$H/dropper.$RANDOM.port
	node "$HERE/node/answer-dropper.cjs" --target "$BROKER_PORT" --plan "$1" >"$out" 2>>"$H/dropper.log" &
	echo $! >>"$H/pids"
	wait_for_port_file "$out" || fail "the answer dropper did not start"
}

# key_of NAME: a key from BROKER_KEYS (root or a volume name), on stdout for a pipe.
key_of() {
	if [ "$1" = root ]; then
		jq -j .root_key <<<"$BROKER_KEYS"
	else
		jq -j --arg n "$1" '.volumes[$n]' <<<"$BROKER_KEYS"
	fi
}

# expect_opens IMAGE KEYNAME: the broker's key KEYNAME opens IMAGE (test-passphrase).
expect_opens() {
	key_of "$2" | cryptsetup open --test-passphrase --type luks --key-file=- "$1" 2>/dev/null ||
		fail "$(basename "$1") does not open with the broker's $2 key"
}

expect_luks_label() {
	cryptsetup isLuks "$1" || fail "$(basename "$1") is not LUKS"
	local label
	label=$(cryptsetup luksDump "$1" | sed -n 's/^Label:[[:space:]]*//p')
	[ "$label" = "$2" ] || fail "$(basename "$1") has LUKS label '$label', expected '$2'"
	cryptsetup luksDump "$1" | grep -q '^Version:[[:space:]]*2' || fail "$(basename "$1") is not LUKS2"
}

expect_stage_ok() {
	[ "$STAGE_STATUS" -eq 0 ] || fail "last stage exited $STAGE_STATUS (log: $BOOT)"
	[ ! -e "$VM/poweroff.log" ] || fail "the VM was powered off"
}

expect_powered_off() {
	[ "$STAGE_STATUS" -ne 0 ] || fail "the stage succeeded"
	[ "$(wc -l <"$VM/poweroff.log" 2>/dev/null || echo 0)" -eq 1 ] || fail "expected exactly one power-off"
	grep -q '^<3>bootkey: .*powering off$' "$BOOT/dev/kmsg" || fail "no power-off line in /dev/kmsg"
	[ ! -e "$BOOT/run/bootkey/boot-token" ] || fail "a boot token was left behind"
	[ -z "$(ls -A "$BOOT/dev/mapper")" ] || fail "something was unlocked"
}

# expect_no_work_files: nothing but the boot state is left in /run/bootkey.
expect_no_work_files() {
	local left
	left=$(cd "$BOOT/run/bootkey" && ls -A | grep -v -x -e vm-name -e hotkey -e boot-token || true)
	[ -z "$left" ] || fail "left in /run/bootkey: $left"
	[ -z "$(ls -A "$BOOT/sys/kernel/config/tsm/report")" ] || fail "a configfs-tsm entry was left behind"
}

# expect_no_leak SECRET...: none of the secrets (read from stdin lines) appears in any file of
# the VM (logs, argv/environment records, run dirs, images) or in the broker's log.
expect_no_leak() {
	local found
	found=$(grep -rlF -f /dev/stdin "$VM" "$H/broker.log" 2>/dev/null || true)
	[ -z "$found" ] || fail "a secret was written to: $found"
}

# secrets_of_vm: the root passphrase, the boot tokens seen and, if known, the VM's volume
# keys, one per line. (Call it after init-bottom has consumed and removed the token.)
secrets_of_vm() {
	cat "$ROOT_PASSPHRASE_FILE"
	echo
	printf '%s' "${BOOT_TOKENS:-}"
	printf '%s' "${BROKER_KEYS_SEEN:-}" | sed '/^$/d'
	if [ -n "${BROKER_KEYS:-}" ]; then
		jq -r '.volumes[]' <<<"$BROKER_KEYS"
	fi
}

# key_digest NAME: SHA-256 of a broker key, to compare keys across scenarios without storing them.
key_digest() {
	key_of "$1" | sha256sum | cut -d' ' -f1
}

count_lines() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# start_throttle_proxy REJECT RETRY_AFTER: a front of the broker that answers the first REJECT
# connections with 429 (node/throttle-proxy.cjs). Prints its port; its pid goes to $H/pids.
start_throttle_proxy() {
	local out=$H/proxy.$RANDOM.port
	node "$HERE/node/throttle-proxy.cjs" --target "$BROKER_PORT" --reject "$1" --retry-after "$2" \
		--cert "$H/tls/server.crt" --key "$H/tls/server.key" >"$out" 2>>"$H/proxy.log" &
	echo $! >>"$H/pids"
	wait_for_port_file "$out" || fail "the throttling proxy did not start"
}
