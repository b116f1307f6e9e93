# shellcheck shell=bash
# Disks in another order for one boot, then the order restored: nothing is lost.
#  - swapped: each volume's path shows the other volume's LUKS disk: nothing is rekeyed or
#    formatted; storage opens with no key the broker keeps, so the VM powers off, naming the
#    disk's LUKS label;
#  - a blank disk where storage was: that blank disk is rekeyed (a new generation; the old one
#    stays) and formatted, the VM boots;
#  - the real storage disk back: it opens with the earlier generation, the current key is added
#    to a free keyslot, nothing is formatted, and the broker's current key now opens it.
scenario_disk_reorder() {
	new_vm reorder
	new_boot
	boot_vm
	expect_stage_ok
	broker_keys
	local storage_digest cache_digest storage_uuid cache_uuid log_lines mkfs_lines
	storage_digest=$(key_digest storage)
	cache_digest=$(key_digest tdx-cache)
	storage_uuid=$(cryptsetup luksUUID "$VM/storage.img")
	cache_uuid=$(cryptsetup luksUUID "$VM/cache.img")
	[ "$(generations storage)" = "1:current" ] || fail "storage generations after the first boot: $(generations storage)"

	# Boot 2: the two disks swapped.
	move_disk storage.img swap.img
	move_disk cache.img storage.img
	move_disk swap.img cache.img
	log_lines=$(count_lines "$VM/cryptsetup.log")
	mkfs_lines=$(count_lines "$VM/mkfs.log")
	new_boot
	boot_vm
	expect_bottom_powered_off
	grep -q "opens neither with the current key nor with any of the 0 earlier generation(s) .*LUKS label: 'tdx-cache'" "$BOOT/init-bottom.log" ||
		fail "the refusal does not explain the swapped disk"
	[ "$(luks_formats_since "$log_lines")" -eq 0 ] || fail "the swapped boot formatted a disk"
	[ "$(count_lines "$VM/mkfs.log")" -eq "$mkfs_lines" ] || fail "the swapped boot made a filesystem"
	[ "$(generations storage)" = "1:current" ] && [ "$(generations tdx-cache)" = "1:current" ] ||
		fail "the swapped boot changed keys: storage $(generations storage), tdx-cache $(generations tdx-cache)"
	rm -f "$VM/poweroff.log"
	move_disk storage.img swap.img
	move_disk cache.img storage.img
	move_disk swap.img cache.img

	# Boot 3: a blank disk where storage was; the real one is elsewhere for this boot.
	move_disk storage.img storage-real.img
	truncate -s 32M "$VM/storage.img"
	new_boot
	boot_vm
	expect_stage_ok
	grep -q 'formatted: storage)' "$BOOT/init-bottom.log" || fail "the blank disk was not formatted (alone)"
	[ "$(generations storage)" = "1:superseded 2:current" ] || fail "storage generations after the blank disk: $(generations storage)"
	[ "$(generations tdx-cache)" = "1:current" ] || fail "tdx-cache was rekeyed: $(generations tdx-cache)"

	# Boot 4: the order restored.
	rm -f "$VM/storage.img" "$VM/storage.img.plain"
	move_disk storage-real.img storage.img
	log_lines=$(count_lines "$VM/cryptsetup.log")
	mkfs_lines=$(count_lines "$VM/mkfs.log")
	new_boot
	boot_vm
	expect_stage_ok
	grep -q 'volume storage: .* opens with an earlier key generation' "$BOOT/init-bottom.log" || fail "no fallback to the earlier generation"
	grep -q 'volume storage: the current key now opens' "$BOOT/init-bottom.log" || fail "the current key was not added"
	grep -q 'volume tdx-cache: .*earlier' "$BOOT/init-bottom.log" && fail "tdx-cache needed an earlier generation"
	[ "$(luks_formats_since "$log_lines")" -eq 0 ] || fail "the restored boot formatted a disk"
	[ "$(count_lines "$VM/mkfs.log")" -eq "$mkfs_lines" ] || fail "the restored boot made a filesystem"
	[ "$(cryptsetup luksUUID "$VM/storage.img")" = "$storage_uuid" ] || fail "storage is not the first boot's LUKS volume"
	[ "$(cryptsetup luksUUID "$VM/cache.img")" = "$cache_uuid" ] || fail "cache is not the first boot's LUKS volume"
	[ "$(keyslots "$VM/storage.img")" -eq 2 ] || fail "storage has $(keyslots "$VM/storage.img") keyslots, expected 2"
	broker_keys
	[ "$(key_digest storage)" != "$storage_digest" ] || fail "storage's current key is still the first one"
	[ "$(key_digest tdx-cache)" = "$cache_digest" ] || fail "cache key changed"
	expect_opens "$VM/storage.img" storage
	expect_opens "$VM/cache.img" tdx-cache
	secrets_of_vm | expect_no_leak
}
