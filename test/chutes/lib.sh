# shellcheck shell=bash
# Helpers of the Chutes client test driver (run.sh): the test home, the broker and the fake VM
# agent, fake gen-B VMs (disk images, config volume, per-boot root trees), running one stage of
# our gen-B VM client under busybox sh, the miner client, and assertions. Bash; the VM client
# stays POSIX sh. Everything is written under $H; nothing outside it.

# log, fail, free_port, build_broker, launch_broker, stop_broker
# shellcheck source=../support/broker.sh
. "$REPO/test/support/broker.sh"

INITRAMFS_FAKES=$REPO/initramfs/test/fakes
FORGE=$REPO/test/support/forge/forge-quote.cjs
TS_NODE=(node -r "$REPO/test/support/forge/ts-register.cjs")
MINER_CLI=$HERE/miner/chutes-miner.ts

hex48() { printf "$1%.0s" $(seq 48); }
# The gen-B image the broker knows (uppercase, as the Chutes YAML writes registers): boot
# registers with RTMR3 zero; at runtime (registration) RTMR3 carries the measured rootfs.
MRTD=$(hex48 A1)
RTMR0=$(hex48 B2)
RTMR1=$(hex48 C3)
RTMR2=$(hex48 D4)
ZERO=$(hex48 00)
RUNTIME_RTMR3=$(hex48 E5)
GOOD_FORGE_ARGS="--mrtd $MRTD --rtmr0 $RTMR0 --rtmr1 $RTMR1 --rtmr2 $RTMR2 --rtmr3 $ZERO"

# Names our stand-ins and the initramfs shims take on PATH. The host's binaries of these names
# are checksummed at start and checked at the end (nothing may write through to them).
SHADOWED=(cryptsetup blkid curl mkdir mkfs.ext4 modprobe mount rmdir umount poweroff tdx-quote-generator chutes-nvattest)

# record_host_binaries / check_host_binaries: SHA-256 of every host binary a stand-in shadows.
record_host_binaries() {
	local name bin
	: >"$H/host-binaries.sha256"
	for name in "${SHADOWED[@]}"; do
		bin=$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$name" 2>/dev/null) || continue
		sha256sum "$(readlink -f "$bin")" >>"$H/host-binaries.sha256"
	done
}
check_host_binaries() {
	sha256sum --quiet -c "$H/host-binaries.sha256" >&2
}

# setup_home: $H with the busybox applets, the stand-ins, forge state, TLS material, the
# broker's measurements (Chutes gen-B flat shape) and root passphrase, the validator key, the
# miner's hotkey file.
setup_home() {
	mkdir -p "$H/bin-busybox" "$H/standins" "$H/tls" "$H/secrets" "$H/vms" "$H/agent" "$H/state"
	ln -s "$INITRAMFS_FAKES" "$H/fakes"
	{
		echo "REAL_CRYPTSETUP=$(command -v cryptsetup)"
		echo "REAL_MKFS_EXT4=$(command -v mkfs.ext4)"
		echo "REAL_BLKID=$(command -v blkid)"
		echo "REAL_CURL=$(command -v curl)"
		echo "REAL_MKDIR=$(command -v mkdir)"
		echo "REAL_RMDIR=$(command -v rmdir)"
		echo "REAL_NODE=$(command -v node)"
	} >"$H/real-tools.sh"
	# The VM client gets busybox's applets, as in an initramfs, for what is not a stand-in, a shim
	# or a tool an initramfs carries itself (curl, openssl, jq, cryptsetup, wipefs, mkfs).
	local applet
	for applet in sh base64 cat chmod cut dd env grep head ls mktemp mv od rm sed sha256sum sleep sort tail tr wc xxd; do
		ln -s "$(command -v busybox)" "$H/bin-busybox/$applet"
	done
	ln -s "$INITRAMFS_FAKES/poweroff" "$H/standins/poweroff"
	ln -s "$HERE/vm/standins/tdx-quote-generator" "$H/standins/tdx-quote-generator"
	VM_PATH=$H/standins:$H/fakes/shims:$H/bin-busybox:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	# Power-off must resolve to the stand-in, never to the host's (or busybox's) poweroff.
	[ "$(PATH=$VM_PATH command -v poweroff)" = "$H/standins/poweroff" ] || fail "poweroff does not resolve to the stand-in"

	eval "$(node "$FORGE" --print-env --state-dir "$H/forge")"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-keyout "$H/tls/server.key" -out "$H/tls/server.crt" 2>/dev/null
	# The VM agent's proxy certificate: RSA, as it also signs X-Signature with this key.
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=attestation-proxy \
		-keyout "$H/tls/agent.key" -out "$H/tls/agent.crt" 2>/dev/null
	# The harness's own gen-B client (broker_keys) presents this certificate.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-client \
		-keyout "$H/tls/client.key" -out "$H/tls/client.crt" 2>/dev/null
	CLIENT_SPKI_SHA256=$(openssl pkey -in "$H/tls/client.key" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	ROOT_PASSPHRASE_FILE=$H/secrets/root-passphrase
	printf 'rootpw-%s' "$(openssl rand -hex 24)" >"$ROOT_PASSPHRASE_FILE"
	cat >"$H/secrets/tee_measurements.yaml" <<-EOF
		measurements:
		  - version: "0.2.1"
		    name: "2xh200"
		    description: "gen-B test image, two H200"
		    mrtd: "$MRTD"
		    boot_rtmrs:
		      rtmr0: "$RTMR0"
		      rtmr1: "$RTMR1"
		      rtmr2: "$RTMR2"
		      rtmr3: "$ZERO"
		    runtime_rtmrs:
		      rtmr0: "$RTMR0"
		      rtmr1: "$RTMR1"
		      rtmr2: "$RTMR2"
		      rtmr3: "$RUNTIME_RTMR3"
		    expected_gpus: ["h200"]
		    gpu_count: 2
	EOF
	# The broker's validator key: a hex sr25519 seed (VALIDATOR_KEY_FILE).
	openssl rand -hex 32 >"$H/secrets/validator-seed"
	chmod 0600 "$H/secrets/validator-seed" "$ROOT_PASSPHRASE_FILE"
	HOTKEY_FILE=$H/secrets/miner-hotkey.json
	MINER_SS58=$("${TS_NODE[@]}" "$MINER_CLI" make-hotkey "$HOTKEY_FILE")
	# chutes-nvattest as the broker runs it: the stand-in, logging to the test home.
	mkdir -p "$H/bin"
	cat >"$H/bin/chutes-nvattest" <<-EOF
		#!/bin/sh
		PATH=\${PATH:-/usr/bin:/bin} CHUTES_NVATTEST_LOG="$H/nvattest.jsonl" exec "$HERE/miner/chutes-nvattest" "\$@"
	EOF
	chmod +x "$H/bin/chutes-nvattest"
	BROKER_PORT=$(free_port)
	BROKER_URL=https://127.0.0.1:$BROKER_PORT
	AGENT_PORT=$(free_port)
}

# start_agent: the fake VM attestation proxy on 127.0.0.1:$AGENT_PORT (the broker's ATTESTATION_PORT).
start_agent() {
	"${TS_NODE[@]}" "$HERE/miner/fake-vm-agent.ts" --port "$AGENT_PORT" --dir "$H/agent" \
		--forge-state "$H/forge" --cert "$H/tls/agent.crt" --key "$H/tls/agent.key" \
		--validator-seed-file "$H/secrets/validator-seed" >"$H/agent.log" 2>&1 &
	echo $! >>"$H/pids"
	local _
	for _ in $(seq 1 120); do
		if grep -q '^listening' "$H/agent.log" 2>/dev/null; then
			agent_serves
			return 0
		fi
		sleep 0.25
	done
	cat "$H/agent.log" >&2
	fail "the fake VM agent did not start"
}

# agent_serves [UUID...]: the GPUs the fake VM agent reports evidence for; also its registers (the
# image's runtime ones) and the miner seed it signs its response proof with, as the VM proxy does.
agent_serves() {
	local gpus=[]
	[ "$#" -eq 0 ] || gpus=$(printf '%s\n' "$@" | jq -R . | jq -cs .)
	jq --argjson gpus "$gpus" --arg mrtd "$MRTD" --arg r0 "$RTMR0" --arg r1 "$RTMR1" --arg r2 "$RTMR2" --arg r3 "$RUNTIME_RTMR3" \
		--arg seed "$(jq -r .secretSeed "$HOTKEY_FILE")" \
		'.gpus = $gpus | .miner_seed = $seed | .registers = {mrtd: $mrtd, rtmr0: $r0, rtmr1: $r1, rtmr2: $r2, rtmr3: $r3}' \
		"$H/agent/config.json" >"$H/agent/config.json.new"
	mv "$H/agent/config.json.new" "$H/agent/config.json"
}

start_broker() {
	launch_broker "$H/tls/server.crt" PORT="$BROKER_PORT" DATA_DIR="$H/broker-data" \
		TLS_CERT_FILE="$H/tls/server.crt" TLS_KEY_FILE="$H/tls/server.key" \
		DCAP_ROOT_CA_FILE="$DCAP_ROOT_CA_FILE" COLLATERAL_DIR="$COLLATERAL_DIR" \
		MEASUREMENTS_FILE="$H/secrets/tee_measurements.yaml" LUKS_ROOT_PASSPHRASE_FILE="$ROOT_PASSPHRASE_FILE" \
		VALIDATOR_KEY_FILE="$H/secrets/validator-seed" ATTESTATION_PORT="$AGENT_PORT" ATTESTATION_TIMEOUT_S=30 \
		ALLOW_PRIVATE_HOSTS=true GPU_EVIDENCE=verify GPU_EVIDENCE_VERIFIER="$H/bin/chutes-nvattest"
}

# miner COMMAND ARGS...: the miner client (chutes-miner.ts CLI) against the broker; JSON on stdout.
miner() {
	"${TS_NODE[@]}" "$MINER_CLI" "$@" --url "$BROKER_URL" --ca "$H/tls/server.crt" --hotkey-file "$HOTKEY_FILE"
}

# new_vm NAME [FORGE_ARGS]: a fake gen-B VM: root image LUKS2-formatted with the broker's root
# passphrase (the image build's job), storage and cache images carrying only a filesystem label
# (the host's blank volumes), a config volume (hostname, miner-ss58). Sets VM, VM_NAME.
new_vm() {
	VM_NAME=chutes-$1
	VM=$H/vms/$VM_NAME
	mkdir -p "$VM/config-volume"
	echo "$VM_NAME" >"$VM/config-volume/hostname"
	echo "$MINER_SS58" >"$VM/config-volume/miner-ss58"
	echo "${2:-$GOOD_FORGE_ARGS}" >"$VM/forge-args"
	truncate -s 32M "$VM/root.img" "$VM/storage.img" "$VM/cache.img"
	cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file="$ROOT_PASSPHRASE_FILE" "$VM/root.img"
	mkfs.ext4 -q -F -L storage "$VM/storage.img"
	mkfs.ext4 -q -F -L tdx-cache "$VM/cache.img"
	BOOT_COUNT=0
}

# use_vm NAME: continue with an existing VM (a later boot).
use_vm() {
	VM_NAME=chutes-$1
	VM=$H/vms/$VM_NAME
	[ -d "$VM" ] || fail "no VM $VM_NAME (an earlier scenario makes it)"
	BOOT_COUNT=$(find "$VM" -maxdepth 1 -name 'boot-*' | wc -l)
}

# new_boot [BASE_URL]: a fresh root tree for the next boot of $VM (BOOT): /etc/tdx-luks.conf, the
# CA bundle (the broker's certificate), /run, /dev/mapper.
new_boot() {
	BOOT_COUNT=$((BOOT_COUNT + 1))
	BOOT=$VM/boot-$BOOT_COUNT
	mkdir -p "$BOOT/etc/ssl/certs" "$BOOT/run" "$BOOT/dev/mapper"
	cp "$H/tls/server.crt" "$BOOT/etc/ssl/certs/ca-certificates.crt"
	cat >"$BOOT/etc/tdx-luks.conf" <<-EOF
		TDX_BASE_URL=${1:-$BROKER_URL}
		TDX_TIMEOUT=30
		TDX_RETRY_COUNT=3
		LUKS_DEVICE=$VM/root.img
		LUKS_NAME=encrypted_root
		DISK_CANDIDATES="$VM/root.img $VM/storage.img $VM/cache.img"
		LUKS_FORMAT_OPTIONS="--pbkdf pbkdf2 --pbkdf-force-iterations 1000"
	EOF
}

# run_stage SCRIPT: one step of the gen-B VM client (vm/fetch_key_and_unlock or vm/setup_storage)
# under busybox sh, clean environment, stand-ins first on PATH. Output in $BOOT/SCRIPT.log;
# STAGE_STATUS.
run_stage() {
	run_client "$HERE/vm" "$VM_PATH" "$1"
}

# run_client DIR PATH SCRIPT: one step (DIR/SCRIPT) of a VM client, as run_stage says, with PATH.
run_client() {
	local client_dir=$1 client_path=$2
	shift 2
	STAGE_STATUS=0
	# The client wipes and formats the devices it is configured with: only ever image files here.
	grep -q '^LUKS_DEVICE=' "$BOOT/etc/tdx-luks.conf" && grep -q '^DISK_CANDIDATES="' "$BOOT/etc/tdx-luks.conf" ||
		fail "the VM's tdx-luks.conf names no devices (the client would fall back to /dev)"
	local dev
	for dev in $(sed -n 's/^LUKS_DEVICE=//p; s/^DISK_CANDIDATES="\(.*\)"$/\1/p' "$BOOT/etc/tdx-luks.conf"); do
		case $dev in
		"$H"/*) ;;
		*) fail "refusing to run the VM client on $dev (outside the test home)" ;;
		esac
	done
	env -i PATH="$client_path" CHUTES_VM_ROOT="$BOOT" BOOTKEY_ROOT="$BOOT" BOOTKEY_TEST_HOME="$H" \
		BOOTKEY_TEST_FORGE="$FORGE" timeout 150 busybox sh "$client_dir/$1" >"$BOOT/$1.log" 2>&1 || STAGE_STATUS=$?
	if [ -s "$BOOT/run/chutes/boot-token" ]; then
		BOOT_TOKENS="${BOOT_TOKENS:-}$(cat "$BOOT/run/chutes/boot-token")"$'\n'
	fi
	sed 's/^/      | /' "$BOOT/$1.log" >>"$H/scenario-output.log"
}

# boot_vm: both steps, the second only when the first succeeded.
boot_vm() {
	run_stage fetch_key_and_unlock
	[ "$STAGE_STATUS" -eq 0 ] || return 0
	run_stage setup_storage
}

expect_booted() {
	[ "$STAGE_STATUS" -eq 0 ] || fail "the VM client exited $STAGE_STATUS (logs in $BOOT)"
	[ ! -e "$VM/poweroff.log" ] || fail "the VM was powered off"
	[ -L "$BOOT/dev/mapper/encrypted_root" ] || fail "the root disk was not opened"
	[ -L "$BOOT/dev/mapper/storage" ] && [ -L "$BOOT/dev/mapper/tdx-cache" ] || fail "the volumes were not opened"
	[ ! -e "$BOOT/run/chutes/boot-token" ] || fail "the boot token was left behind"
}

expect_powered_off() {
	[ "$STAGE_STATUS" -ne 0 ] || fail "the stage succeeded"
	[ "$(count_lines "$VM/poweroff.log")" -eq 1 ] || fail "expected exactly one power-off"
	[ ! -e "$BOOT/run/chutes/boot-token" ] || fail "a boot token was left behind"
}

# broker_keys: the keys the broker holds for $VM, learnt by the test's own gen-B client
# (initramfs/test/node/broker-client.cjs: a separate attestation, a sync without rekey).
broker_keys() {
	local args=() arg
	for arg in $(cat "$VM/forge-args"); do args+=(--forge-arg="$arg"); done
	BROKER_KEYS=$(node "$REPO/initramfs/test/node/broker-client.cjs" --url "$BROKER_URL" --ca "$H/tls/server.crt" \
		--cert "$H/tls/client.crt" --key "$H/tls/client.key" --spki-sha256 "$CLIENT_SPKI_SHA256" \
		--hotkey "$MINER_SS58" --vm "$VM_NAME" --volumes storage,tdx-cache --forge "$FORGE" \
		--forge-state "$H/forge" "${args[@]}")
}

key_of() {
	if [ "$1" = root ]; then jq -j .root_key <<<"$BROKER_KEYS"; else jq -j --arg n "$1" '.volumes[$n]' <<<"$BROKER_KEYS"; fi
}

# expect_opens IMAGE KEYNAME: the broker's key opens IMAGE (real cryptsetup, test-passphrase).
expect_opens() {
	key_of "$2" | cryptsetup open --test-passphrase --type luks --key-file=- "$1" 2>/dev/null ||
		fail "$(basename "$1") does not open with the broker's $2 key"
}

expect_luks_label() {
	cryptsetup isLuks "$1" || fail "$(basename "$1") is not LUKS"
	cryptsetup luksDump "$1" | grep -q '^Version:[[:space:]]*2' || fail "$(basename "$1") is not LUKS2"
	[ "$(cryptsetup luksDump "$1" | sed -n 's/^Label:[[:space:]]*//p')" = "$2" ] || fail "$(basename "$1") does not carry the LUKS label $2"
}

# expect_no_leak: no secret (stdin lines) in any file of the VM or in the broker's log.
expect_no_leak() {
	local found
	found=$(grep -rlF -f /dev/stdin "$VM" "$H/broker.log" 2>/dev/null || true)
	[ -z "$found" ] || fail "a secret was written to: $found"
}

secrets_of_vm() {
	cat "$ROOT_PASSPHRASE_FILE"
	echo
	printf '%s' "${BOOT_TOKENS:-}"
	[ -z "${BROKER_KEYS:-}" ] || jq -r '.volumes[]' <<<"$BROKER_KEYS"
}

key_digest() {
	key_of "$1" | sha256sum | cut -d' ' -f1
}

count_lines() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# requests_made: the VM client's HTTP requests, "METHOD URL" per line, from the curl shim's log.
requests_made() {
	sed -n 's/^curl .* -X \([A-Z]*\) .*\(https:[^ ]*\)$/\1 \2/p' "$VM/exec.log" 2>/dev/null
}
