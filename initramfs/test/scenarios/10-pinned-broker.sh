# shellcheck shell=bash
# At boot, curl checks the pinned key: the broker's own key attests; a pin of another key gets
# no answer from the broker at all (curl refuses the TLS session), and the VM powers off.
scenario_pinned_broker() {
	new_vm pinned
	local pin
	pin=sha256//$(openssl x509 -in "$H/tls/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | openssl base64 -A)
	new_boot "BOOTKEY_PINNED_PUBKEY=\"$pin\""
	run_stage init-premount
	expect_stage_ok
	BOOT_TOKENS="${BOOT_TOKENS:-}$(cat "$BOOT/run/bootkey/boot-token")"$'\n'
	rm -f "$BOOT/run/bootkey/boot-token"
	new_boot "BOOTKEY_PINNED_PUBKEY=\"sha256//$(openssl rand -base64 32)\"" BOOTKEY_ATTEMPTS=1
	run_stage init-premount
	expect_powered_off
	grep -qi 'no response: .*pinned' "$BOOT/init-premount.log" || fail "no pinned-key failure logged"
	secrets_of_vm | expect_no_leak
}
