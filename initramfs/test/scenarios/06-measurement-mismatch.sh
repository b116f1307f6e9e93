# shellcheck shell=bash
# The VM's MRTD is not a registered measurement: 403 on the first attempt, no retry, power-off,
# and the root key is never written anywhere.
scenario_measurement_mismatch() {
	new_vm mismatch "--mrtd $(printf 'ee%.0s' $(seq 48)) --rtmr0 $RTMR0 --rtmr1 $RTMR1 --rtmr2 $RTMR2"
	new_boot
	run_stage init-premount
	expect_powered_off
	grep -q 'refused: HTTP 403 MEASUREMENT_MISMATCH' "$BOOT/init-premount.log" || fail "reason not logged"
	grep -q 'retrying' "$BOOT/init-premount.log" && fail "a 403 was retried"
	expect_no_work_files
	BROKER_KEYS=
	secrets_of_vm | expect_no_leak
}
