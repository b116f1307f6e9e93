# shellcheck shell=bash
# The broker restarts between init-premount and init-bottom: the boot token lives in the
# database, so the sync still works. Quotes come from the quote command writing a file (--out).
scenario_broker_restarted() {
	VM=$H/vms/$SHELL_NAME-main
	VM_NAME=$SHELL_NAME-main
	BOOT_COUNT=3
	[ -d "$VM" ] || fail "needs the first-boot VM"
	new_boot BOOTKEY_QUOTE_SOURCE=cmd "BOOTKEY_QUOTE_CMD=\"$H/fakes/quote-cmd\"" BOOTKEY_QUOTE_OUTPUT=file
	run_stage init-premount
	expect_stage_ok
	grep -q -- '--out ' "$VM/quote-cmd.log" || fail "the quote command was not given --out"
	stop_broker
	start_broker
	run_stage init-bottom
	expect_stage_ok
	grep -q 'volumes ready' "$BOOT/init-bottom.log" || fail "volumes not set up"
	broker_keys
	expect_opens "$VM/storage.img" storage
	secrets_of_vm | expect_no_leak
}
