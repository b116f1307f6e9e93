# shellcheck shell=bash
# A storage disk that is not LUKS and not blank (a partition table, no filesystem) is never
# rekeyed: the VM powers off before asking the broker, naming the signature; with
# BOOTKEY_FORMAT_FOREIGN=yes it is wiped and formatted.
scenario_foreign_device() {
	new_vm foreign
	# A DOS partition table: one Linux partition, boot signature 55 aa.
	printf '\000\040\041\000\203\276\077\003\000\010\000\000\000\370\000\000' |
		dd of="$VM/storage.img" bs=1 seek=446 conv=notrunc status=none
	printf '\125\252' | dd of="$VM/storage.img" bs=1 seek=510 conv=notrunc status=none
	new_boot
	boot_vm
	expect_bottom_powered_off
	grep -q "storage.img is not LUKS and not blank (it holds 'dos')" "$BOOT/init-bottom.log" || fail "refusal does not name the partition table"
	grep -q luksFormat "$VM/cryptsetup.log" && fail "something was formatted"
	[ -z "$(generations storage)" ] || fail "the refused boot made the broker create keys: $(generations storage)"
	rm -f "$VM/poweroff.log"
	new_boot BOOTKEY_FORMAT_FOREIGN=yes
	boot_vm
	expect_stage_ok
	grep -q "holds 'dos'; it will be wiped" "$BOOT/init-bottom.log" || fail "no wipe warning"
	expect_luks_label "$VM/storage.img" storage
	broker_keys
	expect_opens "$VM/storage.img" storage
	secrets_of_vm | expect_no_leak
}
