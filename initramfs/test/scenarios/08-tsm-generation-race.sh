# shellcheck shell=bash
# configfs-tsm `generation` changes while the quote is read (another writer): the quote is
# refused every time, so the boot ends in a power-off after the bounded attempts.
scenario_tsm_generation_race() {
	new_vm tsmrace
	touch "$VM/tsm-race"
	new_boot
	run_stage init-premount
	expect_powered_off
	[ "$(grep -c 'generation changed' "$BOOT/init-premount.log")" -eq 3 ] || fail "expected 3 refused quotes"
	expect_no_work_files
	secrets_of_vm | expect_no_leak
}
