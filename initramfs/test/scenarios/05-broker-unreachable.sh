# shellcheck shell=bash
# Nothing listens at the broker URL: bounded retries with backoff, then one power-off.
scenario_broker_unreachable() {
	new_vm unreachable
	new_boot "BOOTKEY_URLS=\"https://127.0.0.1:$(free_port)\""
	local started=$SECONDS
	run_stage init-premount
	expect_powered_off
	[ "$(grep -c 'nonce from .*no response' "$BOOT/init-premount.log")" -eq 3 ] || fail "expected 3 attempts"
	grep -q 'giving up after 3 attempts' "$BOOT/init-premount.log" || fail "no give-up line"
	[ $((SECONDS - started)) -lt 30 ] || fail "retries took $((SECONDS - started)) s"
	secrets_of_vm | expect_no_leak
}
