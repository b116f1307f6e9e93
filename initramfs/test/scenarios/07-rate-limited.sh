# shellcheck shell=bash
# The first two connections get 429 with Retry-After: 2 (a throttling front of the real broker);
# the script waits at least that long, retries with a fresh nonce, and boots. Quotes come from
# the quote command printing base64.
scenario_rate_limited() {
	new_vm throttled
	local port
	port=$(start_throttle_proxy 2 2)
	new_boot "BOOTKEY_URLS=\"https://127.0.0.1:$port\"" BOOTKEY_QUOTE_SOURCE=cmd \
		"BOOTKEY_QUOTE_CMD=\"$H/fakes/quote-cmd\"" BOOTKEY_QUOTE_OUTPUT=stdout BOOTKEY_JITTER_S=0
	run_stage init-premount
	expect_stage_ok
	[ "$(grep -c 'HTTP 429 RATE_LIMITED' "$BOOT/init-premount.log")" -eq 2 ] || fail "expected two 429s"
	[ "$(grep -c 'retrying in 2s' "$BOOT/init-premount.log")" -eq 2 ] || fail "Retry-After not honoured"
	grep -q -- '--out' "$VM/quote-cmd.log" && fail "stdout mode passed --out"
	run_stage init-bottom
	expect_stage_ok
	broker_keys
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}
