# shellcheck shell=bash
# First boot: attestation through configfs-tsm releases the root key, both volumes are blank,
# so both are rekeyed, luksFormatted (LUKS2, their labels) with the broker's keys, and get ext4.
scenario_first_boot() {
	new_vm main
	new_boot
	run_stage init-top
	expect_stage_ok
	grep -q 'modprobe -q tdx_guest' "$VM/modprobe.log" || fail "init-top did not load tdx_guest"
	run_stage init-premount
	expect_stage_ok
	[ -L "$BOOT/dev/mapper/root" ] || fail "root was not unlocked"
	for f in vm-name hotkey boot-token; do
		[ -s "$BOOT/run/bootkey/$f" ] || fail "init-premount left no $f"
	done
	[ "$(cat "$BOOT/run/bootkey/vm-name")" = "$VM_NAME" ] || fail "wrong vm-name"
	[ "$(stat -c %a "$BOOT/run/bootkey/boot-token")" = 600 ] || fail "boot-token is not mode 0600"
	[ "$(count_lines "$VM/reportdata.log")" -eq 1 ] || fail "expected one configfs-tsm quote"
	grep -q configure_networking "$VM/network.log" || fail "the network was not brought up"
	expect_no_work_files
	run_stage init-bottom
	expect_stage_ok
	[ ! -e "$BOOT/run/bootkey/boot-token" ] || fail "init-bottom left the boot token"
	[ -s "$BOOT/run/bootkey/vm-name" ] || fail "init-bottom removed vm-name"
	expect_no_work_files
	grep -q 'formatted: storage tdx-cache' "$BOOT/init-bottom.log" || fail "both volumes should have been formatted"
	expect_luks_label "$VM/storage.img" storage
	expect_luks_label "$VM/cache.img" tdx-cache
	[ -L "$BOOT/dev/mapper/storage" ] && [ -L "$BOOT/dev/mapper/cache" ] || fail "volumes not opened under their mapper names"
	[ "$(grep -c -e '-L storage' -e '-L tdx-cache' "$VM/mkfs.log")" -eq 2 ] || fail "expected mkfs.ext4 with both labels"
	broker_keys
	expect_opens "$VM/root.img" root
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	key_digest storage >"$H/state/$SHELL_NAME-storage.sha256"
	key_digest tdx-cache >"$H/state/$SHELL_NAME-cache.sha256"
	secrets_of_vm | expect_no_leak
}
