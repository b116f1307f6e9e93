# shellcheck shell=bash
# Helpers of the Chutes client test driver (run.sh) for the gen-C (image 1.4.0) VM client in
# vm-c/: its stand-ins, the image the broker knows (a gen-C measurement release with bootkey's
# root_passphrase_file, and an rc release), fake gen-C VMs (root image carrying LUKS2 token 15),
# running its steps under busybox sh, the TLS front that drops one answer, and the broker's view
# of a VM's keys (`bootkey keys list`). Sourced after lib.sh; everything is written under $H.

# The gen-C image's registers (distinct from the gen-B image's). RTMR3 is zero at the boot quote;
# its runtime value is the fold of the measured rootfs (computed in setup_home_c).
C_MRTD=$(hex48 A7)
C_RTMR0=$(hex48 B7)
C_RTMR1=$(hex48 C7)
C_RTMR2=$(hex48 D7)
C_FORGE_ARGS="--mrtd $C_MRTD --rtmr0 $C_RTMR0 --rtmr1 $C_RTMR1 --rtmr2 $C_RTMR2"
# The release candidate: another MRTD, listed with the authorized miner's hotkey only.
RC_MRTD=$(hex48 A8)
RC_FORGE_ARGS="--mrtd $RC_MRTD --rtmr0 $C_RTMR0 --rtmr1 $C_RTMR1 --rtmr2 $C_RTMR2"
# The gen-C init steps in boot order (init-premount, then init-bottom).
C_STAGES=(fetch_key_and_unlock rootfs-measure setup_storage setup_vm_tls write-validator-auth)
SHADOWED+=(sr25519 tdx-rtmr-extend)

# setup_home_c: after setup_home. The gen-C stand-ins, the image's rootfs and its runtime RTMR3,
# the image's build-time root keys, the gen-C releases appended to the broker's measurements, a
# second (unlisted) miner, the miner's seed file for the bootkey CLI.
setup_home_c() {
	mkdir -p "$H/standins-c" "$H/image-c/rootfs/usr/bin" "$H/image-c/rootfs/usr/lib/sek8s" "$H/image-c/rootfs/etc"
	local tool
	for tool in tdx-quote-generator tdx-rtmr-extend sr25519; do
		ln -s "$HERE/vm-c/standins/$tool" "$H/standins-c/$tool"
	done
	echo "CHUTES_VMC_TOOLS=$HERE/vm-c/tools" >>"$H/real-tools.sh"
	local applet
	for applet in awk find seq stat; do
		[ -e "$H/bin-busybox/$applet" ] || ln -s "$(command -v busybox)" "$H/bin-busybox/$applet"
	done
	VMC_PATH=$H/standins-c:$VM_PATH
	[ "$(PATH=$VMC_PATH command -v tdx-quote-generator)" = "$H/standins-c/tdx-quote-generator" ] ||
		fail "the gen-C quote generator does not resolve to its stand-in"

	# The image's measured rootfs: what rootfs-measure folds into RTMR3.
	openssl rand -hex 64 >"$H/image-c/rootfs/usr/bin/k3s"
	echo "sek8s 1.4.0 (bootkey test image)" >"$H/image-c/rootfs/etc/chutes-release"
	echo "attestation proxy" >"$H/image-c/rootfs/usr/lib/sek8s/attestation-proxy"
	echo "not measured" >"$H/image-c/rootfs/etc/hostname"
	printf '%s\n' "# paths under the root filesystem" "/usr/bin" "/usr/lib/sek8s   # the proxy" "" "/etc/chutes-release" \
		>"$H/image-c/tdx-measure.conf"
	C_RUNTIME_RTMR3=$(fold_rtmr3 "$H/image-c/rootfs" /etc/chutes-release /usr/bin/k3s /usr/lib/sek8s/attestation-proxy)

	# The image builds' root keys (bootkey's root_passphrase_file of each release).
	C_ROOT_PASSPHRASE_FILE=$H/secrets/root-passphrase-1.4.0
	RC_ROOT_PASSPHRASE_FILE=$H/secrets/root-passphrase-1.4.1-rc
	printf 'image-1.4.0-%s' "$(openssl rand -hex 24)" >"$C_ROOT_PASSPHRASE_FILE"
	printf 'image-1.4.1-%s' "$(openssl rand -hex 24)" >"$RC_ROOT_PASSPHRASE_FILE"
	chmod 0600 "$C_ROOT_PASSPHRASE_FILE" "$RC_ROOT_PASSPHRASE_FILE"
	cat >>"$H/secrets/tee_measurements.yaml" <<-EOF
		  - version: "1.4.0"
		    mrtd: "$C_MRTD"
		    rtmr1: "$C_RTMR1"
		    rtmr2: "$C_RTMR2"
		    runtime_rtmr3: "$C_RUNTIME_RTMR3"
		    root_passphrase_file: "$C_ROOT_PASSPHRASE_FILE"
		    hardware:
		      - name: "2xh200"
		        rtmr0: "$C_RTMR0"
		        expected_gpus: ["h200"]
		        gpu_count: 2
		  - version: "1.4.1"
		    rc: true
		    authorized_hotkeys:
		      - "$MINER_SS58"
		    mrtd: "$RC_MRTD"
		    rtmr1: "$C_RTMR1"
		    rtmr2: "$C_RTMR2"
		    runtime_rtmr3: "$C_RUNTIME_RTMR3"
		    root_passphrase_file: "$RC_ROOT_PASSPHRASE_FILE"
		    hardware:
		      - name: "2xh200"
		        rtmr0: "$C_RTMR0"
		        expected_gpus: ["h200"]
		        gpu_count: 2
	EOF
	jq -j .secretSeed "$HOTKEY_FILE" >"$H/secrets/miner-seed"
	OTHER_HOTKEY_FILE=$H/secrets/other-miner-hotkey.json
	OTHER_SS58=$("${TS_NODE[@]}" "$MINER_CLI" make-hotkey "$OTHER_HOTKEY_FILE")
	chmod 0600 "$H/secrets/miner-seed"
}

# fold_rtmr3 ROOT FILE...: the runtime RTMR3 the measure step must reach (the image build's
# computation): from 48 zero bytes, RTMR3 := SHA-384(RTMR3 || SHA-384(file)) over the files in
# byte order of their paths.
fold_rtmr3() {
	local root=$1 value file digest
	shift
	value=$(hex48 00)
	for file in $(printf '%s\n' "$@" | LC_ALL=C sort); do
		digest=$(openssl dgst -sha384 -r "$root$file" | cut -d' ' -f1)
		value=$(printf '%s%s' "$value" "$digest" | xxd -r -p | openssl dgst -sha384 -r | cut -d' ' -f1)
	done
	echo "${value^^}"
}

# new_vm_c NAME [HOTKEY_FILE] [FORGE_ARGS] [ROOT_PASSPHRASE_FILE]: a fake gen-C VM as the host
# makes it from the published image: root image LUKS2-formatted with the image's build-time root
# key and carrying token 15 (first boot), blank storage and cache images with a filesystem label,
# a config volume (hostname, miner-seed, miner-ss58). Sets VM, VM_NAME, BOOT_COUNT.
new_vm_c() {
	local hotkey_file=${2:-$HOTKEY_FILE}
	VM_NAME=chutes-$1
	VM=$H/vms/$VM_NAME
	mkdir -p "$VM/config-volume"
	echo "$VM_NAME" >"$VM/config-volume/hostname"
	jq -j .secretSeed "$hotkey_file" >"$VM/config-volume/miner-seed"
	jq -r .ss58Address "$hotkey_file" >"$VM/config-volume/miner-ss58"
	echo "${3:-$C_FORGE_ARGS}" >"$VM/forge-args"
	truncate -s 32M "$VM/root.img" "$VM/storage.img" "$VM/cache.img"
	cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
		--key-file="${4:-$C_ROOT_PASSPHRASE_FILE}" "$VM/root.img"
	echo '{"type":"chutes-first-boot","keyslots":[],"version":"1.4.0"}' |
		cryptsetup token import --token-id 15 --json-file=- "$VM/root.img"
	mkfs.ext4 -q -F -L storage "$VM/storage.img"
	mkfs.ext4 -q -F -L tdx-cache "$VM/cache.img"
	BOOT_COUNT=0
}

# new_boot_c [BASE_URL]: new_boot plus the gen-C settings: the TD guest device (a character
# device only tested with -c), a 2048-bit VM root CA (the image uses 4096; speed), the cheap
# PBKDF for added keys, mkfs.ext4 for mkfs.xfs, the rootfs and its measure list.
new_boot_c() {
	new_boot "${1:-$BROKER_URL}"
	cat >>"$BOOT/etc/tdx-luks.conf" <<-EOF
		TDX_GUEST_DEVICE=/dev/null
		VM_CA_KEY_BITS=2048
		LUKS_KEY_OPTIONS="--pbkdf pbkdf2 --pbkdf-force-iterations 1000"
		MKFS="mkfs.ext4 -q -F"
		ROOTMNT=$H/image-c/rootfs
	EOF
	cp "$H/image-c/tdx-measure.conf" "$BOOT/etc/tdx-measure.conf"
}

# run_stage_c STEP: one step of the gen-C client under busybox sh (run_client); STAGE_STATUS.
run_stage_c() {
	run_client "$HERE/vm-c" "$VMC_PATH" "$1"
}

# boot_vm_c: every gen-C step in boot order, up to the first that fails (FAILED_STAGE).
boot_vm_c() {
	local stage
	FAILED_STAGE=
	for stage in "${C_STAGES[@]}"; do
		run_stage_c "$stage"
		if [ "$STAGE_STATUS" -ne 0 ]; then
			FAILED_STAGE=$stage
			return 0
		fi
	done
}

# expect_booted_c: every step ran; root and both volumes mapped; the files the boot leaves in
# /run/chutes, and none of those it must remove.
expect_booted_c() {
	[ -z "$FAILED_STAGE" ] || fail "$FAILED_STAGE exited $STAGE_STATUS (logs in $BOOT)"
	[ ! -e "$VM/poweroff.log" ] || fail "the VM was powered off"
	[ -L "$BOOT/dev/mapper/encrypted_root" ] || fail "the root disk was not opened"
	[ -L "$BOOT/dev/mapper/storage" ] && [ -L "$BOOT/dev/mapper/tdx-cache" ] || fail "the volumes were not opened"
	local run=$BOOT/run/chutes left
	grep -Eqx 'ALLOWED_VALIDATORS=5[1-9A-HJ-NP-Za-km-z]{39,49}' "$run/validator-auth.env" || fail "no validator-auth.env"
	[ "$(cat "$run/validator-ss58")" = "$(sed 's/^ALLOWED_VALIDATORS=//' "$run/validator-auth.env")" ] ||
		fail "validator-auth.env does not hold the broker's vm_auth_ss58"
	grep -q '^  *secret: ' "$run/k3s-encryption-config.yaml" || fail "no k3s encryption configuration"
	[ "$(base64 -d <<<"$(sed -n 's/^  *secret: //p' "$run/k3s-encryption-config.yaml")" | wc -c)" -eq 32 ] ||
		fail "the k3s key is not 32 bytes of base64"
	[ -s "$run/proxy-tls/server.crt" ] || fail "no proxy TLS leaf"
	left=$(cd "$run" && ls -A | grep -v -x -e vm-name -e hotkey -e luks-quote-nonce -e validator-ss58 -e validator-auth.env \
		-e k3s-encryption-config.yaml -e vm-root-ca -e proxy-tls -e client-tls || true)
	[ -z "$left" ] || fail "left in /run/chutes: $left"
	[ ! -e "$run/vm-root-ca/ca.key" ] || fail "the VM root CA's key was not deleted"
	[ "$(cat "$run/vm-name")" = "$VM_NAME" ] || fail "vm-name is not $VM_NAME"
	expect_no_key_in_logs
}

expect_powered_off_c() {
	[ -n "$FAILED_STAGE" ] || fail "the boot succeeded"
	[ "$(count_lines "$VM/poweroff.log")" -eq 1 ] || fail "expected exactly one power-off"
	[ ! -e "$BOOT/run/chutes/miner-seed" ] || fail "the miner seed was left behind"
	[ ! -e "$BOOT/run/chutes/vm-root-ca" ] || fail "the VM root CA was left behind"
}

# The stage logs of this boot, one line per message.
boot_log() {
	cat "$BOOT"/*.log 2>/dev/null
}

# expect_no_key_in_logs: no 128-hex run (a volume or root key, a signature) in what the VM's
# tools were given on their command lines or environments, or in what the VM printed; no image
# root key anywhere in the VM's files or the broker's log.
expect_no_key_in_logs() {
	local found
	found=$(grep -lE '[0-9a-fA-F]{128}' "$VM/exec.log" "$VM/cryptsetup.log" "$BOOT"/*.log 2>/dev/null || true)
	[ -z "$found" ] || fail "a key-sized hex string was logged in: $found"
	{
		cat "$C_ROOT_PASSPHRASE_FILE"
		echo
		cat "$RC_ROOT_PASSPHRASE_FILE"
		echo
	} | expect_no_leak
}

# root_slots / luks_slots_of IMAGE: the key slots of an image, space separated.
luks_slots_of() {
	cryptsetup luksDump --dump-json-metadata "$1" | jq -r '.keyslots | keys | join(" ")'
}

# opens_with IMAGE PASSPHRASE_FILE: whether the file's passphrase opens IMAGE.
opens_with() {
	cryptsetup open --test-passphrase --type luks --key-file="$2" "$1" 2>/dev/null
}

has_token15() {
	cryptsetup token export --token-id 15 "$1" >/dev/null 2>&1
}

# requests_made_c: "METHOD PATH" per request of this VM (query strings kept).
requests_made_c() {
	sed -n 's/^curl .* -X \([A-Z]*\) .*https:\/\/[^/]*\(\/[^ ]*\)$/\1 \2/p' "$VM/exec.log" 2>/dev/null
}

# broker_root_keys [HOTKEY_SEED_FILE]: the broker's key generations of $VM_NAME as
# `bootkey keys list --json` prints them (the miner's own VM); BROKER_VM_KEYS.
broker_vm_keys() {
	BROKER_VM_KEYS=$(NODE_PATH="$REPO/node_modules" node -e 'require(process.argv[1]).main([process.argv[0], "bootkey", ...process.argv.slice(2)])' \
		"$BUILD_DIR/src/cli/main.js" --url "$BROKER_URL" --ca-file "$H/tls/server.crt" \
		--seed-file "${1:-$H/secrets/miner-seed}" --json keys list "$VM_NAME") ||
		fail "bootkey keys list $VM_NAME failed: $BROKER_VM_KEYS"
}

# root_states: the broker's root generations, "generation:state" newest first.
root_states() {
	jq -r '[.volumes[]? | select(.volume == "root") | .generations[]? | "\(.generation):\(.state)"] | join(" ")' <<<"$BROKER_VM_KEYS"
}

# start_drop_front N: the TLS front that passes every connection to the broker but drops the
# broker's answer on the N-th (drop-answer-proxy.cjs); DROP_URL, its log $H/drop-front-N.log.
start_drop_front() {
	local port_file=$H/drop-front-$1.port
	DROP_LOG=$H/drop-front-$1.log
	node "$HERE/drop-answer-proxy.cjs" --target "$BROKER_PORT" --drop "$1" >"$port_file" 2>"$DROP_LOG" &
	echo $! >>"$H/pids"
	local _
	for _ in $(seq 1 40); do [ -s "$port_file" ] && break; sleep 0.25; done
	[ -s "$port_file" ] || fail "the dropping front did not start"
	DROP_URL=https://127.0.0.1:$(cat "$port_file")
}

# expect_quotes_c: this boot's two quotes (the last two the quote stand-in made): the boot quote
# with RTMR3 zero and REPORTDATA = nonce || SHA-256(SPKI of this boot's VM root CA); the
# /provision quote with the runtime RTMR3 and REPORTDATA = luks_quote_nonce || the same hash.
expect_quotes_c() {
	local hash boot_quote provision_quote
	hash=$(openssl x509 -in "$BOOT/run/chutes/vm-root-ca/ca.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
	boot_quote=$(tail -n 2 "$VM/quotes.log" | head -n 1)
	provision_quote=$(tail -n 1 "$VM/quotes.log")
	grep -Eqx "[0-9a-f]{64}$hash $(hex48 00)" <<<"$boot_quote" || fail "the boot quote is not nonce || CERT_HASH with RTMR3 zero: $boot_quote"
	[ "${provision_quote,,}" = "$(cat "$BOOT/run/chutes/luks-quote-nonce")$hash ${C_RUNTIME_RTMR3,,}" ] ||
		fail "the /provision quote is not luks_quote_nonce || CERT_HASH with the runtime RTMR3: $provision_quote"
}

# expect_current_only VOLUME...: in BROKER_VM_KEYS, each volume has exactly one current
# generation and none pending.
expect_current_only() {
	local volume states
	for volume in "$@"; do
		states=$(jq -r --arg v "$volume" '[.volumes[]? | select(.volume == $v) | .generations[]?.state] | join(" ")' <<<"$BROKER_VM_KEYS")
		[ "$(tr ' ' '\n' <<<"$states" | grep -c -x current)" -eq 1 ] || fail "$volume: expected one current generation, the broker has: ${states:-none}"
		! tr ' ' '\n' <<<"$states" | grep -q -x pending || fail "$volume: a generation is still pending: $states"
	done
}

# agent_serves_c VM_AUTH_SS58 CERT KEY [GPU...]: the fake VM agent as this gen-C VM's attestation
# proxy: only VM_AUTH_SS58 allowed, this TLS certificate and key, the gen-C runtime registers, the
# miner's response proof, these GPUs.
agent_serves_c() {
	local vm_auth=$1 cert=$2 key=$3 gpus=[]
	shift 3
	[ "$#" -eq 0 ] || gpus=$(printf '%s\n' "$@" | jq -R . | jq -cs .)
	jq --arg v "$vm_auth" --arg cert "$cert" --arg key "$key" --argjson gpus "$gpus" \
		--arg mrtd "$C_MRTD" --arg r0 "$C_RTMR0" --arg r1 "$C_RTMR1" --arg r2 "$C_RTMR2" --arg r3 "$C_RUNTIME_RTMR3" \
		--arg seed "$(jq -r .secretSeed "$HOTKEY_FILE")" \
		'.allowed_validators = [$v] | .tls = {cert: $cert, key: $key} | .gpus = $gpus | .miner_seed = $seed
		 | .registers = {mrtd: $mrtd, rtmr0: $r0, rtmr1: $r1, rtmr2: $r2, rtmr3: $r3}' \
		"$H/agent/config.json" >"$H/agent/config.json.new"
	mv "$H/agent/config.json.new" "$H/agent/config.json"
}
