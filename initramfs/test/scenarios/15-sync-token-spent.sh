# shellcheck shell=bash
# The answers to the first sync and to its three replays are lost; the fifth attempt gets the
# broker's real 401 BOOT_TOKEN_INVALID (replays used up). init-bottom attests from scratch once
# (a second quote, a new token) and syncs again: the VM boots with the keys of that sync.
scenario_sync_token_spent() {
	new_vm tokenspent
	local port
	# 1 nonce, 2 attestation, 3-6 sync and replays (dropped), 7 the 401, 8-9 attestation, 10 sync.
	port=$(start_answer_dropper pass,pass,drop,drop,drop,drop)
	new_boot "BOOTKEY_URLS=\"https://127.0.0.1:$port\"" BOOTKEY_ATTEMPTS=5 BOOTKEY_JITTER_S=0 BOOTKEY_BACKOFF_MAX_S=1
	boot_vm
	expect_stage_ok
	[ "$(grep -c 'volume key sync at .*: no response' "$BOOT/init-bottom.log")" -eq 4 ] || fail "expected four lost answers"
	grep -q 'volume key sync at .* refused: HTTP 401 BOOT_TOKEN_INVALID' "$BOOT/init-bottom.log" || fail "no 401 after the replays"
	[ "$(grep -c 'attesting again (once)' "$BOOT/init-bottom.log")" -eq 1 ] || fail "expected one fresh attestation"
	[ "$(count_lines "$VM/reportdata.log")" -eq 2 ] || fail "expected two quotes"
	grep -q 'formatted: storage tdx-cache' "$BOOT/init-bottom.log" || fail "volumes not formatted"
	# The lost sync made generation 1; the new token's sync (same body, rekey) made 2.
	[ "$(generations storage)" = "1:superseded 2:current" ] || fail "storage generations: $(generations storage)"
	broker_keys
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}

# The same, and the second token's answers are lost as well: only one fresh attestation, then
# a power-off; nothing is formatted.
scenario_sync_token_spent_twice() {
	new_vm tokentwice
	local port
	port=$(start_answer_dropper pass,pass,drop,drop,drop,drop,pass,pass,pass,drop,drop,drop,drop)
	new_boot "BOOTKEY_URLS=\"https://127.0.0.1:$port\"" BOOTKEY_ATTEMPTS=5 BOOTKEY_JITTER_S=0 BOOTKEY_BACKOFF_MAX_S=1
	boot_vm
	expect_bottom_powered_off
	[ "$(grep -c 'attesting again (once)' "$BOOT/init-bottom.log")" -eq 1 ] || fail "expected exactly one fresh attestation"
	[ "$(grep -c 'refused: HTTP 401 BOOT_TOKEN_INVALID' "$BOOT/init-bottom.log")" -eq 2 ] || fail "expected two 401s"
	[ "$(count_lines "$VM/reportdata.log")" -eq 2 ] || fail "expected two quotes"
	grep -q luksFormat "$VM/cryptsetup.log" && fail "a volume was formatted"
	secrets_of_vm | expect_no_leak
}
