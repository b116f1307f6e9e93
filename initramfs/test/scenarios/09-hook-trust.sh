# shellcheck shell=bash
# The hook (run by the shell under test, with a stand-in hook-functions writing into a temp
# DESTDIR) refuses to build when the broker would be trusted through the system CA bundle (by
# path, through a symlink, as a copy, or as a many-certificate file) or the pin is malformed,
# with one line saying what to set; it builds with a pin or with a dedicated CA file, takes the
# tools' names back from busybox, and warns about kernel device names.
scenario_hook_trust() {
	local dir=$H/hook-$SHELL_NAME n=0
	mkdir -p "$dir"
	local system=/etc/ssl/certs/ca-certificates.crt
	local pin
	pin=sha256//$(openssl x509 -in "$H/tls/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | openssl base64 -A)

	# run_hook CA PIN [VOLUMES]: runs the hook with a config naming CA and PIN; sets HOOK_STATUS,
	# HOOK_ERR (its stderr) and DEST (its DESTDIR).
	run_hook() {
		n=$((n + 1))
		DEST=$dir/root-$n
		mkdir -p "$DEST/bin"
		cp "$(command -v busybox)" "$DEST/bin/busybox"
		# What busybox's hook leaves before ours: an applet where the real blkid belongs.
		local blkid_path
		blkid_path=$(command -v blkid)
		mkdir -p "$DEST$(dirname "$blkid_path")"
		cp "$(command -v busybox)" "$DEST$blkid_path"
		{
			echo "BOOTKEY_URLS=\"$BROKER_URL\""
			echo "BOOTKEY_CA_FILE=\"$1\""
			echo "BOOTKEY_PINNED_PUBKEY=\"$2\""
			echo "BOOTKEY_VOLUMES=\"${3:-storage,/dev/disk/by-id/virtio-storage}\""
		} >"$dir/bootkey-$n.conf"
		HOOK_STATUS=0
		env -i PATH="$PATH" DESTDIR="$DEST" BOOTKEY_HOOK_FUNCTIONS="$H/fakes/hook-functions" \
			BOOTKEY_CONF_SRC="$dir/bootkey-$n.conf" BOOTKEY_LIB_SRC="$REPO/initramfs/lib/bootkey-functions" \
			$SHELL_CMD "$REPO/initramfs/hooks/bootkey" >"$dir/hook-$n.out" 2>"$dir/hook-$n.err" || HOOK_STATUS=$?
		HOOK_ERR=$(cat "$dir/hook-$n.err")
		sed 's/^/      | hook: /' "$dir/hook-$n.err" >>"$H/scenario-output.log"
	}
	expect_refused() {
		[ "$HOOK_STATUS" -ne 0 ] || fail "the hook built with $1"
		[ "$(wc -l <<<"$HOOK_ERR")" -eq 1 ] || fail "expected one line, got: $HOOK_ERR"
		grep -q "^bootkey hook: refusing to build: .*$2" <<<"$HOOK_ERR" || fail "refusal for $1 does not say '$2': $HOOK_ERR"
		[ ! -e "$DEST/etc/bootkey.conf" ] || fail "the hook copied files before refusing ($1)"
	}
	expect_built() {
		[ "$HOOK_STATUS" -eq 0 ] || fail "the hook refused $1: $HOOK_ERR"
		cmp -s "$DEST/etc/bootkey.conf" "$dir/bootkey-$n.conf" || fail "bootkey.conf not copied ($1)"
		cmp -s "$DEST/lib/bootkey/bootkey-functions" "$REPO/initramfs/lib/bootkey-functions" || fail "library not copied ($1)"
		local tool
		for tool in curl jq openssl cryptsetup blkid mkfs.ext4 wipefs; do
			cmp -s "$DEST$(command -v "$tool")" "$(command -v "$tool")" || fail "$tool in the image is not the real one ($1)"
		done
		grep -q 'manual_add_modules tdx_guest' "$DEST.log" || fail "tdx_guest not added ($1)"
	}

	if [ -f "$system" ]; then
		run_hook "$system" ""
		expect_refused "the system bundle" "BOOTKEY_PINNED_PUBKEY=.*BOOTKEY_CA_FILE"
		grep -q 'is the system CA bundle' <<<"$HOOK_ERR" || fail "the refusal does not name the system bundle: $HOOK_ERR"
		ln -s "$system" "$dir/linked-bundle.pem"
		run_hook "$dir/linked-bundle.pem" ""
		expect_refused "a symlink to the system bundle" "is the system CA bundle"
		cp "$system" "$dir/copied-bundle.pem"
		run_hook "$dir/copied-bundle.pem" ""
		expect_refused "a copy of the system bundle" "is the system CA bundle"
		awk '/BEGIN CERT/ { n++ } n <= 20' "$system" >"$dir/some-public-cas.pem"
		run_hook "$dir/some-public-cas.pem" ""
		expect_refused "20 public CAs" "holds 20 certificates"
		# A pin makes the system bundle acceptable.
		run_hook "$system" "$pin"
		expect_built "a pin with the system bundle"
		cmp -s "$DEST$system" "$system" || fail "the CA file was not copied"
	else
		log "    (no $system on this host: system-bundle cases skipped)"
	fi
	run_hook "$H/tls/server.crt" "sha256//not-a-hash="
	expect_refused "a malformed pin" "BOOTKEY_PINNED_PUBKEY is not curl's pinned-key form"
	run_hook "$H/tls/server.crt" "$pin;sha256//$(openssl rand -base64 32)" "storage,/dev/vdb tdx-cache,/dev/disk/by-id/virtio-cache"
	expect_built "two pins (a backup key)"
	grep -q 'warning: volume device /dev/vdb is a kernel name' <<<"$HOOK_ERR" || fail "no warning about /dev/vdb"
	grep -q 'virtio-cache' <<<"$HOOK_ERR" && fail "warned about a stable path"
	run_hook "$H/tls/server.crt" ""
	expect_built "a dedicated CA file"
	[ -z "$HOOK_ERR" ] || fail "unexpected output: $HOOK_ERR"
	# Without DESTDIR the hook does nothing at all.
	HOOK_STATUS=0
	env -i PATH="$PATH" BOOTKEY_HOOK_FUNCTIONS="$H/fakes/hook-functions" BOOTKEY_CONF_SRC="$dir/bootkey-$n.conf" \
		BOOTKEY_LIB_SRC="$REPO/initramfs/lib/bootkey-functions" $SHELL_CMD "$REPO/initramfs/hooks/bootkey" \
		2>"$dir/hook-nodest.err" || HOOK_STATUS=$?
	[ "$HOOK_STATUS" -ne 0 ] && grep -q 'DESTDIR is not set' "$dir/hook-nodest.err" || fail "the hook ran without DESTDIR"
}
