# shellcheck shell=bash
# The broker's answer to the first sync is lost after it committed (a front resets the VM's
# connection when the answer arrives). The VM retries with the same token and body and gets the
# same answer again: it boots, and the broker made exactly one generation of each volume.
scenario_lost_sync_answer() {
	new_vm lostanswer
	local port
	# Connections: 1 nonce, 2 attestation, 3 sync (answer dropped), 4 the retry.
	port=$(start_answer_dropper pass,pass,drop)
	new_boot "BOOTKEY_URLS=\"https://127.0.0.1:$port\"" BOOTKEY_JITTER_S=0
	boot_vm
	expect_stage_ok
	[ "$(grep -c 'volume key sync at .*: no response' "$BOOT/init-bottom.log")" -eq 1 ] || fail "expected one lost sync answer"
	grep -q "connection 3: dropped the answer" "$H/dropper.log" || fail "the front dropped no answer"
	grep -q 'attesting again' "$BOOT/init-bottom.log" && fail "re-attested although the retry was answered"
	grep -q 'formatted: storage tdx-cache' "$BOOT/init-bottom.log" || fail "volumes not formatted"
	[ "$(generations storage)" = "1:current" ] && [ "$(generations tdx-cache)" = "1:current" ] ||
		fail "the retry was not the same sync: storage $(generations storage), tdx-cache $(generations tdx-cache)"
	broker_keys
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}
