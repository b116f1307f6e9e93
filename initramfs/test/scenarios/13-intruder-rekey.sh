# shellcheck shell=bash
# Another TD claims this VM's identity (its VM name is not registered, so nothing pins it to a
# host) and rekeys both volumes. The victim's next boot opens both disks with the earlier
# generation and adds the current key. The intruder strikes again; this time the miner restores
# storage's first generation (the victim's own) before the boot: storage opens with the current
# key directly, tdx-cache falls back again.
scenario_intruder_rekey() {
	new_vm victim
	new_boot
	boot_vm
	expect_stage_ok
	local storage_uuid log_lines
	storage_uuid=$(cryptsetup luksUUID "$VM/storage.img")

	broker_keys --rekey storage,tdx-cache
	[ "$(generations storage)" = "1:superseded 2:current" ] || fail "the intruder's rekey: $(generations storage)"
	log_lines=$(count_lines "$VM/cryptsetup.log")
	new_boot
	boot_vm
	expect_stage_ok
	[ "$(grep -c 'opens with an earlier key generation' "$BOOT/init-bottom.log")" -eq 2 ] || fail "expected both volumes to fall back"
	[ "$(luks_formats_since "$log_lines")" -eq 0 ] || fail "a volume was formatted"
	[ "$(cryptsetup luksUUID "$VM/storage.img")" = "$storage_uuid" ] || fail "storage was replaced"
	[ "$(keyslots "$VM/storage.img")" -eq 2 ] && [ "$(keyslots "$VM/cache.img")" -eq 2 ] || fail "the current keys were not added"
	broker_keys
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache

	broker_keys --rekey storage,tdx-cache
	miner POST "/vms/$VM_NAME/keys/restore" '{"volume":"storage","generation":1}'
	[ "$MINER_STATUS" = 200 ] || fail "restore: $MINER_STATUS $MINER_BODY"
	[ "$(generations storage)" = "1:current 2:superseded 3:superseded" ] || fail "after the restore: $(generations storage)"
	new_boot
	boot_vm
	expect_stage_ok
	grep -q 'volume storage: .*earlier' "$BOOT/init-bottom.log" && fail "storage did not open with the restored generation"
	grep -q 'volume tdx-cache: .* opens with an earlier key generation' "$BOOT/init-bottom.log" || fail "tdx-cache did not fall back"
	[ "$(keyslots "$VM/storage.img")" -eq 2 ] || fail "a key was added to storage"
	[ "$(keyslots "$VM/cache.img")" -eq 3 ] || fail "the current key was not added to cache"
	broker_keys
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}
