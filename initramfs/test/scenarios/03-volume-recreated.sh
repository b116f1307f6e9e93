# shellcheck shell=bash
# The cache disk is replaced by a blank one: only it is rekeyed and formatted; storage keeps its key.
scenario_volume_recreated() {
	VM=$H/vms/$SHELL_NAME-main
	VM_NAME=$SHELL_NAME-main
	BOOT_COUNT=2
	[ -d "$VM" ] || fail "needs the first-boot VM"
	rm -f "$VM/cache.img" "$VM/cache.img.plain"
	truncate -s 32M "$VM/cache.img"
	local log_before
	log_before=$(count_lines "$VM/cryptsetup.log")
	new_boot
	boot_vm
	expect_stage_ok
	grep -q 'formatted: tdx-cache)' "$BOOT/init-bottom.log" || fail "only tdx-cache should have been formatted"
	local formats
	formats=$(tail -n +"$((log_before + 1))" "$VM/cryptsetup.log" | grep luksFormat || true)
	[ "$(grep -c . <<<"$formats")" -eq 1 ] && grep -q 'cache.img' <<<"$formats" || fail "luksFormat calls: $formats"
	expect_luks_label "$VM/cache.img" tdx-cache
	broker_keys
	[ "$(key_digest storage)" = "$(cat "$H/state/$SHELL_NAME-storage.sha256")" ] || fail "storage key changed"
	[ "$(key_digest tdx-cache)" != "$(cat "$H/state/$SHELL_NAME-cache.sha256")" ] || fail "cache was not rekeyed"
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}
