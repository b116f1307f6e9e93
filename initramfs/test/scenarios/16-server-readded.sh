# shellcheck shell=bash
# The miner registers the VM as a server (host 127.0.0.1, where its boots come from: identity
# pinning lets them through), deletes the server and registers it again, as miners' tools do
# routinely: the next boot opens the same volumes with the same keys; nothing is formatted.
scenario_server_readded() {
	new_vm readded
	local server="{\"host\":\"127.0.0.1\",\"id\":\"$VM_NAME-srv\",\"name\":\"$VM_NAME\",\"gpus\":[]}"
	miner POST /servers "$server"
	[ "$MINER_STATUS" = 201 ] || fail "register: $MINER_STATUS $MINER_BODY"
	new_boot
	boot_vm
	expect_stage_ok
	broker_keys
	local storage_digest cache_digest log_lines mkfs_lines
	storage_digest=$(key_digest storage)
	cache_digest=$(key_digest tdx-cache)
	miner DELETE "/servers/$VM_NAME-srv"
	[ "$MINER_STATUS" = 200 ] || fail "delete: $MINER_STATUS $MINER_BODY"
	miner POST /servers "$server"
	[ "$MINER_STATUS" = 201 ] || fail "register again: $MINER_STATUS $MINER_BODY"
	log_lines=$(count_lines "$VM/cryptsetup.log")
	mkfs_lines=$(count_lines "$VM/mkfs.log")
	new_boot
	boot_vm
	expect_stage_ok
	grep -q 'formatted:' "$BOOT/init-bottom.log" && fail "a volume was formatted"
	grep -q 'earlier key generation' "$BOOT/init-bottom.log" && fail "a volume needed an earlier generation"
	[ "$(luks_formats_since "$log_lines")" -eq 0 ] && [ "$(count_lines "$VM/mkfs.log")" -eq "$mkfs_lines" ] || fail "a volume was formatted"
	broker_keys
	[ "$(key_digest storage)" = "$storage_digest" ] && [ "$(key_digest tdx-cache)" = "$cache_digest" ] || fail "keys changed"
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}
