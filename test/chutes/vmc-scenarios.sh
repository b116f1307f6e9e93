# shellcheck shell=bash
# Scenarios of our gen-C (image 1.4.0) VM client (vm-c/) against the broker; run.sh runs them
# after the gen-B ones (c_reboot continues c_first_boot's VM). Each scenario is a function
# scenario_NAME; a failed check returns non-zero.

# c_first_boot: a fresh copy of the image (token 15): nonce bound to the hotkey, signed boot with
# first_boot:true, the image's root key opens the disk and is rotated away (confirmed, old slot
# killed, token 15 removed); the measure step brings RTMR3 to the runtime value for /provision;
# both blank volumes formatted with their keys; the k3s configuration, the TLS leaves and
# validator-auth written; the broker keeps root, storage and tdx-cache as current generations.
scenario_c_first_boot() {
	new_vm_c c-main
	has_token15 "$VM/root.img" || fail "the image has no token 15"
	new_boot_c
	boot_vm_c
	expect_booted_c
	local log made
	log=$(boot_log)
	grep -q 'first_boot=true' <<<"$log" || fail "the VM did not detect its first boot"
	grep -q 'root key rotated' <<<"$log" || fail "the root key was not rotated"
	has_token15 "$VM/root.img" && fail "token 15 is still on the root disk"
	opens_with "$VM/root.img" "$C_ROOT_PASSPHRASE_FILE" && fail "the image's root key still opens the disk"
	[ "$(luks_slots_of "$VM/root.img")" != "0" ] || fail "the root disk kept its original slot"
	[ "$(luks_slots_of "$VM/root.img" | wc -w)" -eq 1 ] || fail "the root disk has more than one key slot"
	made=$(requests_made_c)
	[ "$made" = "GET /servers/nonce?miner_hotkey=$MINER_SS58
POST /servers/boot/attestation
POST /servers/$VM_NAME/provision/confirm
POST /servers/$VM_NAME/provision
POST /servers/$VM_NAME/provision/confirm" ] || fail "unexpected requests: $made"
	[ "$(grep -c "^curl .*--cert $BOOT/run/chutes/vm-root-ca/ca.crt " "$VM/exec.log")" -eq 5 ] ||
		fail "not every request presented the VM root CA"
	expect_quotes_c
	grep -q 'formatted storage' <<<"$log" && grep -q 'formatted tdx-cache' <<<"$log" ||
		fail "both volumes should have been formatted"
	expect_luks_label "$VM/storage.img" storage
	expect_luks_label "$VM/cache.img" tdx-cache
	[ "$(grep -c -e '-L storage' -e '-L tdx-cache' "$VM/mkfs.log")" -eq 2 ] || fail "expected a filesystem on each volume"
	grep -q '^.*RTMR3 extended with 3 files' <<<"$log" || fail "the measure step did not measure the 3 files"
	openssl verify -CAfile "$BOOT/run/chutes/vm-root-ca/ca.crt" "$BOOT/run/chutes/proxy-tls/server.crt" >/dev/null ||
		fail "the proxy leaf is not issued by the VM root CA"
	broker_vm_keys
	expect_current_only root storage tdx-cache
	root_states >"$H/state/main-c-root"
	jq -r '[.volumes[] | select(.volume == "storage") | .generations[] | select(.state == "current") | .generation] | first' \
		<<<"$BROKER_VM_KEYS" >"$H/state/main-c-storage"
}

# c_reboot: the same VM boots again: first_boot:false, the root key the broker rotated to opens
# the disk and is rotated again; both volumes open with their keys and rotate (next added,
# confirmed, old slots killed); nothing is formatted again.
scenario_c_reboot() {
	use_vm c-main
	local formats mkfs log
	formats=$(grep -c luksFormat "$VM/cryptsetup.log" || true)
	mkfs=$(count_lines "$VM/mkfs.log")
	new_boot_c
	boot_vm_c
	expect_booted_c
	log=$(boot_log)
	grep -q 'first_boot=false' <<<"$log" || fail "the VM claimed a first boot"
	grep -q 'root key rotated' <<<"$log" || fail "the root key was not rotated"
	grep -q 'opened storage' <<<"$log" && grep -q 'opened tdx-cache' <<<"$log" || fail "the volumes were not opened"
	grep -q 'storage key rotated (old slots' <<<"$log" && grep -q 'tdx-cache key rotated (old slots' <<<"$log" ||
		fail "the volumes were not rotated"
	[ "$(grep -c luksFormat "$VM/cryptsetup.log" || true)" -eq "$formats" ] || fail "a volume was formatted again"
	[ "$(count_lines "$VM/mkfs.log")" -eq "$mkfs" ] || fail "mkfs ran again"
	local image
	for image in root storage cache; do
		[ "$(luks_slots_of "$VM/$image.img" | wc -w)" -eq 1 ] || fail "$image.img has more than one key slot"
	done
	expect_quotes_c
	broker_vm_keys
	expect_current_only root storage tdx-cache
	[ "$(root_states)" != "$(cat "$H/state/main-c-root")" ] || fail "the broker's root generations did not change"
	local storage
	storage=$(jq -r '[.volumes[] | select(.volume == "storage") | .generations[] | select(.state == "current") | .generation] | first' <<<"$BROKER_VM_KEYS")
	[ "$storage" != "$(cat "$H/state/main-c-storage")" ] || fail "the broker did not promote a new storage generation"
}

# root_confirm_lost: the root confirm's answer is dropped by a TLS front (the broker processes the
# confirm, the VM sees HTTP 000): the VM rolls back its new slot and finishes its boot on the
# image's key; the broker has promoted. bootkey's recovery: the next boot is handed the promoted
# key, cannot open and powers off; the boot after it is handed the fallback (the key that opened
# the disk when the lost confirm's key was issued), opens and rotates; a further boot opens
# normally. A broker that hands the fallback at once also passes: within 2 boots the disk opens.
scenario_root_confirm_lost() {
	new_vm_c c-lost
	# Connections of a boot: 1 nonce, 2 boot attestation, 3 root confirm, 4 provision, 5 confirm.
	start_drop_front 3
	new_boot_c "$DROP_URL"
	boot_vm_c
	expect_booted_c
	grep -q '^conn 3: answer dropped' "$DROP_LOG" || fail "the front did not drop the root confirm's answer"
	grep -q 'root confirm failed (HTTP 000); next root key rolled back' <<<"$(boot_log)" || fail "the VM did not roll back"
	opens_with "$VM/root.img" "$C_ROOT_PASSPHRASE_FILE" || fail "after the rollback the image's key does not open the disk"
	[ "$(luks_slots_of "$VM/root.img" | wc -w)" -eq 1 ] || fail "the rolled-back slot is still there"
	broker_vm_keys
	grep -q '[0-9]*:current' <<<"$(root_states)" || fail "the broker did not promote the lost confirm's key (root: $(root_states))"

	new_boot_c
	boot_vm_c
	if [ -n "$FAILED_STAGE" ]; then
		[ "$FAILED_STAGE" = fetch_key_and_unlock ] || fail "boot 2 failed in $FAILED_STAGE"
		grep -q 'cannot unlock' "$BOOT/fetch_key_and_unlock.log" || fail "boot 2 failed before the unlock"
		expect_powered_off_c
		mv "$VM/poweroff.log" "$VM/poweroff-boot-$BOOT_COUNT.log"
		log "      boot 2 was handed the promoted key and powered off (the designed recovery)"
		new_boot_c
		boot_vm_c
	else
		log "      boot 2 was handed the fallback key at once"
	fi
	expect_booted_c
	grep -q 'root key rotated' "$BOOT/fetch_key_and_unlock.log" || fail "the recovering boot did not rotate"
	opens_with "$VM/root.img" "$C_ROOT_PASSPHRASE_FILE" && fail "the image's key still opens the disk after the recovery"

	new_boot_c
	boot_vm_c
	expect_booted_c
	grep -q 'root key rotated' "$BOOT/fetch_key_and_unlock.log" || fail "the boot after the recovery did not rotate"
	broker_vm_keys
	expect_current_only root storage tdx-cache
}

# storage_confirm_lost: the same for the storage confirm (§7.2 item 1, "root and storage alike"):
# on a reboot that rotates both volumes, the storage confirm's answer is dropped; the VM removes
# both next keys and finishes its boot. Within 2 boots after that the volumes open again and
# rotate (a boot handed the promoted storage key powers off in setup_storage); a further boot is
# normal.
scenario_storage_confirm_lost() {
	new_vm_c c-slost
	new_boot_c
	boot_vm_c
	expect_booted_c
	start_drop_front 5
	new_boot_c "$DROP_URL"
	boot_vm_c
	expect_booted_c
	grep -q '^conn 5: answer dropped' "$DROP_LOG" || fail "the front did not drop the storage confirm's answer"
	grep -q 'storage confirm failed (HTTP 000); next key rolled back' "$BOOT/setup_storage.log" &&
		grep -q 'tdx-cache confirm failed (HTTP 000); next key rolled back' "$BOOT/setup_storage.log" ||
		fail "the VM did not roll back its volume keys"

	new_boot_c
	boot_vm_c
	if [ -n "$FAILED_STAGE" ]; then
		[ "$FAILED_STAGE" = setup_storage ] || fail "boot 3 failed in $FAILED_STAGE"
		grep -q 'cannot set up storage' "$BOOT/setup_storage.log" || fail "boot 3 failed before opening its volumes"
		expect_powered_off_c
		mv "$VM/poweroff.log" "$VM/poweroff-boot-$BOOT_COUNT.log"
		log "      boot 3 was handed the promoted storage key and powered off (the designed recovery)"
		new_boot_c
		boot_vm_c
	fi
	expect_booted_c
	grep -q 'storage key rotated' "$BOOT/setup_storage.log" || fail "the recovering boot did not rotate storage"

	new_boot_c
	boot_vm_c
	expect_booted_c
	grep -q 'storage key rotated' "$BOOT/setup_storage.log" && grep -q 'tdx-cache key rotated' "$BOOT/setup_storage.log" ||
		fail "the boot after the recovery did not rotate its volumes"
	broker_vm_keys
	expect_current_only root storage tdx-cache
}

# gen_b_and_gen_c: a gen-B VM (set 0.2.1) and a gen-C VM (set 1.4.0) boot against the same broker,
# interleaved: gen-C init-premount, the whole gen-B boot, gen-C init-bottom; each gets its own
# generation's answer (the gen-B client needs boot_token, the gen-C one root_next).
scenario_gen_b_and_gen_c() {
	new_vm_c c-mixed
	new_boot_c
	local c_vm=$VM c_name=$VM_NAME c_boot=$BOOT c_count=$BOOT_COUNT stage
	run_stage_c fetch_key_and_unlock
	[ "$STAGE_STATUS" -eq 0 ] || fail "the gen-C init-premount failed"

	new_vm b-mixed
	new_boot
	boot_vm
	expect_booted
	grep -q 'opened storage\|formatted storage' "$BOOT/setup_storage.log" || fail "the gen-B VM did not set up its storage"
	[ "$(requests_made | head -n 2)" = "GET $BROKER_URL/servers/nonce
POST $BROKER_URL/servers/boot/attestation" ] || fail "the gen-B VM made unexpected requests"

	VM=$c_vm VM_NAME=$c_name BOOT=$c_boot BOOT_COUNT=$c_count
	FAILED_STAGE=
	for stage in "${C_STAGES[@]:1}"; do
		run_stage_c "$stage"
		[ "$STAGE_STATUS" -eq 0 ] || {
			FAILED_STAGE=$stage
			break
		}
	done
	expect_booted_c
	grep -q 'root key rotated' "$BOOT/fetch_key_and_unlock.log" || fail "the gen-C root key was not rotated"
}

# rc_image: an rc release (1.4.1, authorized_hotkeys = the miner): the authorized miner's VM boots
# through boot attestation and /provision; a VM of another miner on the same image gets 403 at
# once (no retry) and powers off with nothing opened.
scenario_rc_image() {
	new_vm_c c-rc-ok "$HOTKEY_FILE" "$RC_FORGE_ARGS" "$RC_ROOT_PASSPHRASE_FILE"
	new_boot_c
	boot_vm_c
	expect_booted_c
	grep -q 'root key rotated' "$BOOT/fetch_key_and_unlock.log" || fail "the rc VM's root key was not rotated"

	new_vm_c c-rc-denied "$OTHER_HOTKEY_FILE" "$RC_FORGE_ARGS" "$RC_ROOT_PASSPHRASE_FILE"
	new_boot_c
	boot_vm_c
	[ "$FAILED_STAGE" = fetch_key_and_unlock ] || fail "the unauthorized miner's VM got past init-premount"
	expect_powered_off_c
	grep -q 'refused: HTTP 403' "$BOOT/fetch_key_and_unlock.log" || fail "the refusal was not a 403"
	[ "$(requests_made_c | grep -c /servers/nonce)" -eq 1 ] || fail "the 403 was retried"
	[ -z "$(ls -A "$BOOT/dev/mapper")" ] || fail "something was opened"
	has_token15 "$VM/root.img" || fail "the refused VM's root disk was touched"
	cryptsetup isLuks "$VM/storage.img" && fail "the refused VM's storage volume was touched"
	return 0
}

# register_with_vm_auth: after a gen-C boot the miner registers the server. The VM's attestation
# proxy (the fake agent) allows only the ss58 in the VM's validator-auth.env and serves the TLS
# leaf the VM root CA issued: the broker signs its evidence fetch with that boot's vm_auth key
# and accepts the leaf. The same registration with a proxy certificate the VM root CA did not
# issue is refused. The server is deleted again at the end.
scenario_register_with_vm_auth() {
	new_vm_c c-registered
	new_boot_c
	boot_vm_c
	expect_booted_c
	local vm_auth run=$BOOT/run/chutes out before
	vm_auth=$(sed -n 's/^ALLOWED_VALIDATORS=//p' "$run/validator-auth.env")
	local saved=$H/agent/config.json.saved
	cp "$H/agent/config.json" "$saved"
	before=$(count_lines "$H/agent/requests.jsonl")
	# The proxy's own (self-signed) certificate first: not issued by the VM root CA.
	agent_serves_c "$vm_auth" "$H/tls/agent.crt" "$H/tls/agent.key" "GPU-$VM_NAME-0" "GPU-$VM_NAME-1"
	if out=$(miner register --host 127.0.0.1 --id "$VM_NAME-node" --name "$VM_NAME" --gpus "GPU-$VM_NAME-0,GPU-$VM_NAME-1"); then
		cp "$saved" "$H/agent/config.json"
		fail "registration succeeded with a proxy leaf the VM root CA did not issue: $out"
	fi
	grep -q VM_ROOT_CA_MISMATCH <<<"$out" || {
		cp "$saved" "$H/agent/config.json"
		fail "the registration was refused, but not for the proxy leaf: $out"
	}
	agent_serves_c "$vm_auth" "$run/proxy-tls/server.crt" "$run/proxy-tls/server.key" "GPU-$VM_NAME-0" "GPU-$VM_NAME-1"
	local status=0
	out=$(miner register --host 127.0.0.1 --id "$VM_NAME-node" --name "$VM_NAME" --gpus "GPU-$VM_NAME-0,GPU-$VM_NAME-1") || status=$?
	cp "$saved" "$H/agent/config.json"
	[ "$status" -eq 0 ] || fail "registration failed: $out"
	local fetches
	fetches=$(tail -n +"$((before + 1))" "$H/agent/requests.jsonl")
	[ -n "$fetches" ] || fail "the broker made no evidence fetch"
	[ "$(jq -r 'select(.status == 200) | .hotkey' <<<"$fetches" | sort -u)" = "$vm_auth" ] ||
		fail "the VM proxy answered a fetch not signed with the VM's vm_auth key: $fetches"
	[ "$(jq -r .path <<<"$fetches" | tail -n 1)" = /server/attest ] || fail "the last fetch was not /server/attest"
	# The miner tests that follow list the miner's servers: leave none of ours.
	out=$(miner delete-remote "$VM_NAME") || fail "delete-remote failed: $out"
}
