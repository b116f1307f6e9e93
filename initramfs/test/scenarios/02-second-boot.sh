# shellcheck shell=bash
# Second boot of the same VM: nothing is rekeyed or formatted; the same keys open both volumes.
scenario_second_boot() {
	VM=$H/vms/$SHELL_NAME-main
	VM_NAME=$SHELL_NAME-main
	BOOT_COUNT=1
	[ -d "$VM" ] || fail "needs the first-boot VM"
	local formats_before mkfs_before
	formats_before=$(grep -c luksFormat "$VM/cryptsetup.log" || true)
	mkfs_before=$(count_lines "$VM/mkfs.log")
	new_boot
	boot_vm
	expect_stage_ok
	[ "$(grep -c luksFormat "$VM/cryptsetup.log" || true)" -eq "$formats_before" ] || fail "a volume was formatted again"
	[ "$(count_lines "$VM/mkfs.log")" -eq "$mkfs_before" ] || fail "mkfs ran again"
	grep -q 'formatted:' "$BOOT/init-bottom.log" && fail "init-bottom reports formatting"
	[ -L "$BOOT/dev/mapper/storage" ] && [ -L "$BOOT/dev/mapper/cache" ] || fail "volumes not opened"
	broker_keys
	[ "$(key_digest storage)" = "$(cat "$H/state/$SHELL_NAME-storage.sha256")" ] || fail "storage key changed"
	[ "$(key_digest tdx-cache)" = "$(cat "$H/state/$SHELL_NAME-cache.sha256")" ] || fail "cache key changed"
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}
