# shellcheck shell=bash
# Scenarios of our gen-B VM client (vm/) against the broker; run.sh runs them in this order
# (reboot continues first_boot's VM). Each scenario is a function scenario_NAME; a failed check
# returns non-zero.

# First boot: nonce and attestation over mTLS, the root key opens the image's root disk; both
# volumes are blank (a filesystem label only), so both are rekeyed, LUKS2-formatted with their
# labels, opened and given a filesystem.
scenario_first_boot() {
	new_vm main
	new_boot
	boot_vm
	expect_booted
	local left
	left=$(cd "$BOOT/run/chutes" && ls -A | grep -v -x -e vm-name -e hotkey || true)
	[ -z "$left" ] || fail "left in /run/chutes: $left"
	local made
	made=$(requests_made)
	[ "$made" = "GET $BROKER_URL/servers/nonce
POST $BROKER_URL/servers/boot/attestation
POST $BROKER_URL/servers/$VM_NAME/luks" ] || fail "unexpected requests: $made"
	grep -q "^curl .*--cert .* $BROKER_URL/servers/nonce\$" "$VM/exec.log" || fail "the nonce request did not present the client certificate"
	grep -q "^curl .*--cert .* $BROKER_URL/servers/boot/attestation\$" "$VM/exec.log" || fail "the attestation did not present the client certificate"
	[ "$(count_lines "$VM/reportdata.log")" -eq 1 ] || fail "expected one quote"
	grep -Eqx '[0-9a-f]{128}' "$VM/reportdata.log" || fail "REPORTDATA is not nonce || SHA-256(SPKI) (128 hex)"
	grep -q 'formatted storage' "$BOOT/setup_storage.log" && grep -q 'formatted tdx-cache' "$BOOT/setup_storage.log" ||
		fail "both volumes should have been formatted"
	expect_luks_label "$VM/storage.img" storage
	expect_luks_label "$VM/cache.img" tdx-cache
	[ "$(grep -c -e '-L storage' -e '-L tdx-cache' "$VM/mkfs.log")" -eq 2 ] || fail "expected a filesystem on each volume"
	broker_keys
	expect_opens "$VM/root.img" root
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	key_digest storage >"$H/state/main-storage.sha256"
	key_digest tdx-cache >"$H/state/main-cache.sha256"
	secrets_of_vm | expect_no_leak
}

# Reboot: the same VM boots again; its volumes are LUKS now, nothing is rekeyed or formatted, and
# the broker's keys are the ones from the first boot.
scenario_reboot() {
	use_vm main
	local formats mkfs
	formats=$(grep -c luksFormat "$VM/cryptsetup.log" || true)
	mkfs=$(count_lines "$VM/mkfs.log")
	new_boot
	boot_vm
	expect_booted
	[ "$(grep -c luksFormat "$VM/cryptsetup.log" || true)" -eq "$formats" ] || fail "a volume was formatted again"
	[ "$(count_lines "$VM/mkfs.log")" -eq "$mkfs" ] || fail "mkfs ran again"
	grep -q 'opened storage' "$BOOT/setup_storage.log" && grep -q 'opened tdx-cache' "$BOOT/setup_storage.log" ||
		fail "the volumes were not opened"
	broker_keys
	[ "$(key_digest storage)" = "$(cat "$H/state/main-storage.sha256")" ] || fail "the storage key changed"
	[ "$(key_digest tdx-cache)" = "$(cat "$H/state/main-cache.sha256")" ] || fail "the cache key changed"
	secrets_of_vm | expect_no_leak
}

# Refusal: the VM's MRTD is not a registered measurement: 403 on the first attempt, no retry,
# power-off; nothing is opened and no key or token is written anywhere.
scenario_refusal() {
	new_vm refused "--mrtd $(hex48 EE) --rtmr0 $RTMR0 --rtmr1 $RTMR1 --rtmr2 $RTMR2 --rtmr3 $ZERO"
	new_boot
	run_stage fetch_key_and_unlock
	expect_powered_off
	grep -q 'refused: HTTP 403' "$BOOT/fetch_key_and_unlock.log" || fail "the refusal was not reported"
	[ "$(requests_made | grep -c /servers/nonce)" -eq 1 ] || fail "a 403 was retried"
	[ -z "$(ls -A "$BOOT/dev/mapper")" ] || fail "something was opened"
	[ ! -e "$BOOT/run/chutes/vm-name" ] || fail "boot state was written"
	cryptsetup isLuks "$VM/storage.img" && fail "the storage volume was touched"
	BROKER_KEYS=
	secrets_of_vm | expect_no_leak
}

# 429: the first connection is answered 429 by a throttling front of the broker; the client waits
# 2 x attempt seconds and attests again with a fresh nonce, and boots.
scenario_rate_limited() {
	new_vm throttled
	local port_file=$H/throttle.port
	node "$REPO/initramfs/test/node/throttle-proxy.cjs" --target "$BROKER_PORT" --reject 1 --retry-after 1 \
		--cert "$H/tls/server.crt" --key "$H/tls/server.key" >"$port_file" 2>>"$H/proxy.log" &
	echo $! >>"$H/pids"
	local i
	for i in $(seq 1 40); do [ -s "$port_file" ] && break; sleep 0.25; done
	[ -s "$port_file" ] || fail "the throttling proxy did not start"
	new_boot "https://127.0.0.1:$(cat "$port_file")"
	boot_vm
	expect_booted
	grep -q 'rate limited; retrying in 2 s' "$BOOT/fetch_key_and_unlock.log" || fail "no wait of 2 s after the 429"
	[ "$(requests_made | grep -c /servers/nonce)" -eq 2 ] || fail "expected a fresh nonce for the second attempt"
}

# Broker unreachable: every attempt fails without an answer (HTTP 000); after TDX_RETRY_COUNT
# attempts the VM powers off with nothing opened.
scenario_broker_unreachable() {
	new_vm unreachable
	new_boot "https://127.0.0.1:$(free_port)"
	run_stage fetch_key_and_unlock
	expect_powered_off
	[ "$(grep -c 'HTTP 000' "$BOOT/fetch_key_and_unlock.log")" -eq 3 ] || fail "expected three attempts"
	[ -z "$(ls -A "$BOOT/dev/mapper")" ] || fail "something was opened"
}

# Delete, then reboot: the VM boots (volumes formatted), the miner registers it and deletes it
# through the API (chutes-miner delete-remote), the VM reboots and still opens its volumes.
scenario_delete_then_reboot() {
	new_vm kept
	new_boot
	boot_vm
	expect_booted
	local out formats
	agent_serves "GPU-$VM_NAME-0" "GPU-$VM_NAME-1"
	out=$(miner register --host 127.0.0.1 --id "$VM_NAME-node" --name "$VM_NAME" --gpus "GPU-$VM_NAME-0,GPU-$VM_NAME-1") ||
		fail "registration failed: $out"
	out=$(miner delete-remote "$VM_NAME") || fail "delete-remote failed: $out"
	formats=$(grep -c luksFormat "$VM/cryptsetup.log" || true)
	new_boot
	boot_vm
	# Opened (the shim's open really checks the passphrase) with the keys the broker serves now,
	# and nothing formatted again: the keys survived the deletion.
	expect_booted
	[ "$(grep -c luksFormat "$VM/cryptsetup.log" || true)" -eq "$formats" ] || fail "a volume was formatted again"
	grep -q 'opened storage' "$BOOT/setup_storage.log" && grep -q 'opened tdx-cache' "$BOOT/setup_storage.log" ||
		fail "the volumes were not opened"
	secrets_of_vm | expect_no_leak
}
