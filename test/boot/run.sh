#!/usr/bin/env bash
# The boot path on a real kernel (npm run test:boot): QEMU (TCG) boots Debian's stock kernel with
# an initramfs that initramfs-tools' mkinitramfs built with the project's hook and scripts; the
# guest attests to the real broker (HTTPS, client certificates, PostgreSQL) through a slirp
# network that reaches nothing else, gets quotes from a host-side quote service over
# virtio-serial, unlocks a real LUKS2 root image and sets up real LUKS2 volumes with real
# device-mapper. One boot per scenario; each is checked from the broker's audit rows and the
# guest's own report. See test/boot/README.md.
#   test/boot/run.sh [SCENARIO...]   env: BOOTKEY_BOOT_CACHE (downloads), BOOTKEY_BOOT_TIMEOUT_S,
#                                         BOOTKEY_TEST_KEEP=1 (keep the temp dir)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${BOOTKEY_BOOT_CACHE:-/var/cache/bootkey-boot-test}
BOOT_TIMEOUT_S=${BOOTKEY_BOOT_TIMEOUT_S:-240}
SCENARIOS=(first_boot disk_reorder order_restored changed_rtmr broker_stopped)
[ "$#" -eq 0 ] || SCENARIOS=("$@")

# shellcheck source=lib.sh
. "$HERE/lib.sh"

started=$SECONDS
log "== dependencies (apt-get, kernel package)"
KVER=$(sh "$HERE/install-deps.sh" "$CACHE")
KDIR=$CACHE/kernel
log "   kernel $KVER, $(qemu-system-x86_64 --version | head -n1)"

H=$(mktemp -d "${TMPDIR:-/tmp}/bootkey-boot.XXXXXX")
# The host programs the build touches by name, to check at the end that none was written through.
host_tool_digests >"$H/host-tools.before"
cleanup() {
	local status=$?
	stop_broker
	local pid
	if [ -s "$H/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null || true
		done <"$H/pids"
	fi
	remove_temp_copies
	if [ "$status" -ne 0 ] && [ -n "${DB_URL:-}" ]; then
		sql "SELECT * FROM boot_attestations ORDER BY created_at" >"$H/audit-boot_attestations.txt" 2>&1 || true
		sql "SELECT * FROM key_release_events ORDER BY created_at" >"$H/audit-key_release_events.txt" 2>&1 || true
	fi
	if [ -s "$H/database" ]; then
		dropdb -h 127.0.0.1 -U postgres --if-exists "$(cat "$H/database")" 2>/dev/null || true
	fi
	if [ "$status" -eq 0 ] && [ -z "${BOOTKEY_TEST_KEEP:-}" ]; then
		rm -rf "$H"
	else
		log "test files kept in $H"
	fi
}
trap cleanup EXIT

t=$SECONDS
log "== broker: build, PostgreSQL database, start"
setup_home
ensure_postgres
build_broker
start_broker
log "   https://127.0.0.1:$BROKER_PORT, database $DB_NAME ($((SECONDS - t)) s)"

t=$SECONDS
log "== initramfs: mkinitramfs with the bootkey hook and scripts"
build_initramfs
log "   $(basename "$H/initrd.img"): $(($(stat -c %s "$H/initrd.img") / 1024)) KiB, $(wc -l <"$H/initrd.list") entries ($((SECONDS - t)) s)"

t=$SECONDS
log "== disks: root (LUKS2, encrypted on the host), tdx-config, blank storage and cache"
make_disks
log "   root LUKS2 $(luks_uuid "$H/vm/root.img") ($((SECONDS - t)) s)"

# --- scenarios -------------------------------------------------------------------------------

scenario_first_boot() {
	boot first-boot "$GOOD_FORGE_ARGS" root config storage cache
	expect_powered_off
	[ "$(report_get stage)" = root-init ] || fail "the guest never reached the root filesystem's init"
	[ "$(report_get root_id)" = "$(cat "$H/vm/root-id")" ] || fail "the root filesystem is not the one on the root image"
	[ "$(report_get root_mount)" = "/dev/mapper/root ext4 ro" ] || fail "root mount: $(report_get root_mount)"
	local uuid
	uuid=$(luks_uuid "$H/vm/root.img")
	[ "$(report_get dm_root)" = "CRYPT-LUKS2-${uuid//-/}-root" ] || fail "dm root: $(report_get dm_root)"
	case $(report_get storage) in "mounted ext4 marker-new "*) ;; *) fail "storage: $(report_get storage)" ;; esac
	case $(report_get tdx-cache) in "mounted ext4 marker-new "*) ;; *) fail "tdx-cache: $(report_get tdx-cache)" ;; esac
	[ "$(report_get storage_fs | cut -d' ' -f1)" = storage ] || fail "storage filesystem label: $(report_get storage_fs)"
	[ "$(report_get tdx-cache_fs | cut -d' ' -f1)" = tdx-cache ] || fail "cache filesystem label: $(report_get tdx-cache_fs)"
	console_has 'bootkey: volumes ready: storage tdx-cache (formatted: storage tdx-cache)' || fail "init-bottom did not format both volumes"
	[ "$(report_get net_broker_fwd)" = open ] || fail "the broker forward is not reachable"
	[ "$(report_get net_host_broker_port)" = closed ] || fail "the guest reaches the host directly"
	[ "$(report_get net_outside)" = closed ] || fail "the guest reaches the outside"
	local vol img
	for vol in storage:storage tdx-cache:cache; do
		img=$H/vm/${vol#*:}.img
		cryptsetup isLuks --type luks2 "$img" || fail "${vol#*:}.img is not LUKS2"
		[ "$(luks_label "$img")" = "${vol%%:*}" ] || fail "${vol#*:}.img has LUKS label $(luks_label "$img")"
		uuid=$(luks_uuid "$img")
		[ "$(report_get "dm_${vol%%:*}")" = "CRYPT-LUKS2-${uuid//-/}-${vol%%:*}" ] || fail "dm ${vol%%:*}: $(report_get "dm_${vol%%:*}")"
		echo "$uuid" >"$H/vm/${vol#*:}.uuid"
	done
	report_get storage | awk '{ print $4 }' >"$H/vm/storage.marker"
	report_get tdx-cache | awk '{ print $4 }' >"$H/vm/cache.marker"
	[ "$(wc -l <"$B/quotes.log")" -eq 1 ] || fail "expected 1 quote request, saw $(wc -l <"$B/quotes.log")"
	[ "$(boot_rows)" = "verified - boot-test UpToDate" ] || fail "audit rows: $(boot_rows | tr '\n' ';')"
	local releases
	releases=$(release_rows)
	[ "$(grep -c '^root ' <<<"$releases")" -eq 1 ] || fail "key releases: $releases"
	grep -q '^sync returned=\["storage", "tdx-cache"\] created=\["storage", "tdx-cache"\]' <<<"$releases" ||
		fail "sync release: $releases"
	AUDIT_SUMMARY="attestation: $(boot_rows); releases: $(tr '\n' ';' <<<"$releases" | sed 's/;$//')"
}

# One boot with the disks attached differently: a blank disk carries storage's serial, the real
# storage disk is there under another one. The blank disk is rekeyed (a new key generation; the
# broker keeps the old one) and formatted; the real storage disk is not touched.
scenario_disk_reorder() {
	[ -s "$H/vm/storage.marker" ] || fail "needs the first boot"
	keyslots "$H/vm/storage.img" >"$H/vm/storage.keyslots"
	sha256sum <"$H/vm/storage.img" >"$H/vm/storage.sha256"
	boot disk-reorder "$GOOD_FORGE_ARGS" storage=spare root blank=storage config cache
	expect_powered_off
	[ "$(report_get stage)" = root-init ] || fail "the guest never reached the root filesystem's init"
	case $(report_get storage) in "mounted ext4 marker-new "*) ;; *) fail "storage: $(report_get storage) (expected the blank disk, new)" ;; esac
	[ "$(report_get tdx-cache)" = "mounted ext4 marker-found $(cat "$H/vm/cache.marker")" ] || fail "tdx-cache: $(report_get tdx-cache)"
	console_has 'bootkey: volumes ready: storage tdx-cache (formatted: storage)' || fail "init-bottom did not format the blank disk (alone)"
	cryptsetup isLuks "$H/vm/blank.img" || fail "the blank disk was not formatted"
	sha256sum <"$H/vm/storage.img" | cmp -s - "$H/vm/storage.sha256" || fail "the real storage disk was written to"
	local releases
	releases=$(release_rows)
	grep -q '^sync returned=\["storage", "tdx-cache"\] created=\[\] rekeyed=\["storage"\]' <<<"$releases" ||
		fail "sync release: $releases"
	[ "$(grep -c '^replaced ' <<<"$releases")" -eq 1 ] || fail "expected one replaced event: $releases"
	AUDIT_SUMMARY="attestation: $(boot_rows); releases: $(tr '\n' ';' <<<"$releases" | sed 's/;$//')"
}

# The disks as they were (attached in reverse order: by-id names, not vda/vdb, must find them),
# after the miner registered the VM as a server (host 127.0.0.1, where its boots come from),
# deleted it and registered it again, as miners' tools do routinely. Both volumes open with the
# first boot's data: storage, rekeyed while its disk was away, does not open with the current
# key, opens with the earlier generation and gets the current key in a free keyslot.
scenario_order_restored() {
	[ -s "$H/vm/storage.keyslots" ] || fail "needs the first boot and the disk_reorder boot"
	local server="{\"host\":\"127.0.0.1\",\"id\":\"boot-test-server\",\"name\":\"$VM_NAME\",\"gpus\":[]}"
	miner POST /servers "$server"
	[ "$MINER_STATUS" = 201 ] || fail "register: $MINER_STATUS $MINER_BODY"
	miner DELETE /servers/boot-test-server
	[ "$MINER_STATUS" = 200 ] || fail "delete: $MINER_STATUS $MINER_BODY"
	miner POST /servers "$server"
	[ "$MINER_STATUS" = 201 ] || fail "register again: $MINER_STATUS $MINER_BODY"
	boot order-restored "$GOOD_FORGE_ARGS" cache storage config root
	expect_powered_off
	[ "$(report_get stage)" = root-init ] || fail "the guest never reached the root filesystem's init"
	[ "$(report_get root_id)" = "$(cat "$H/vm/root-id")" ] || fail "the root filesystem is not the one on the root image"
	[ "$(report_get storage)" = "mounted ext4 marker-found $(cat "$H/vm/storage.marker")" ] ||
		fail "storage: $(report_get storage) (expected the first boot's marker)"
	[ "$(report_get tdx-cache)" = "mounted ext4 marker-found $(cat "$H/vm/cache.marker")" ] ||
		fail "tdx-cache: $(report_get tdx-cache) (expected the first boot's marker)"
	[ "$(luks_uuid "$H/vm/storage.img")" = "$(cat "$H/vm/storage.uuid")" ] || fail "storage was luksFormatted again"
	[ "$(luks_uuid "$H/vm/cache.img")" = "$(cat "$H/vm/cache.uuid")" ] || fail "cache was luksFormatted again"
	console_has 'bootkey: volumes ready: storage tdx-cache' || fail "init-bottom did not report the volumes"
	if console_has '(formatted:'; then fail "init-bottom formatted a volume"; fi
	console_has 'volume storage: /dev/disk/by-id/virtio-bk-storage opens with an earlier key generation' || fail "no fallback to the earlier generation"
	console_has 'bootkey: volume storage: the current key now opens' || fail "the current key was not added"
	if console_has 'volume tdx-cache: /dev/disk/by-id/virtio-bk-cache opens with an earlier'; then fail "tdx-cache needed an earlier generation"; fi
	[ "$(keyslots "$H/vm/storage.img")" -eq $(($(cat "$H/vm/storage.keyslots") + 1)) ] || fail "storage has $(keyslots "$H/vm/storage.img") keyslots"
	[ "$(boot_rows)" = "verified - boot-test UpToDate" ] || fail "audit rows: $(boot_rows | tr '\n' ';')"
	local releases
	releases=$(release_rows)
	grep -q '^sync returned=\["storage", "tdx-cache"\] created=\[\] rekeyed=\[\]' <<<"$releases" ||
		fail "sync release: $releases"
	AUDIT_SUMMARY="server registered, deleted, registered again; attestation: $(boot_rows); releases: $(tr '\n' ';' <<<"$releases" | sed 's/;$//')"
	# The keys the broker holds (fetched by an independent client) open both disks.
	broker_keys
	expect_opens "$H/vm/storage.img" storage
	expect_opens "$H/vm/cache.img" tdx-cache
	# No secret (root passphrase, any key generation) in anything the boots wrote (console,
	# report, quote logs) or in the broker's log.
	local found
	found=$({ cat "$ROOT_PASSPHRASE_FILE"; echo; jq -r '.volumes[], .previous[][]' <<<"$BROKER_KEYS"; } |
		grep -rlF -f /dev/stdin "$H/boots" "$H/broker.log" || true)
	[ -z "$found" ] || fail "a secret was written to: $found"
}

scenario_changed_rtmr() {
	boot changed-rtmr "$BAD_FORGE_ARGS" storage root cache config
	expect_powered_off
	[ ! -s "$B/report.txt" ] || fail "the guest reached the root filesystem: $(head -n3 "$B/report.txt")"
	console_has 'MEASUREMENT_MISMATCH' || fail "no MEASUREMENT_MISMATCH on the console"
	console_has 'bootkey: no root key released; powering off' || fail "no power-off line on the console"
	if console_has 'root disk unlocked'; then fail "the root disk was unlocked"; fi
	[ "$(wc -l <"$B/quotes.log")" -eq 1 ] || fail "a 403 was retried: $(wc -l <"$B/quotes.log") quotes"
	# One failed row; the nearest set is named, and the verdict shows RTMR1's expected and actual value.
	[ "$(boot_rows)" = "failed MEASUREMENT_MISMATCH boot-test -" ] || fail "audit rows: $(boot_rows | tr '\n' ';')"
	local verdict
	verdict=$(sql "SELECT verdict::text FROM boot_attestations WHERE vm_name = '$VM_NAME' AND created_at >= '$T0'")
	local misses
	misses=$(jq -r '.measurement.nearest.registers[] | select(.match | not) | "\(.register) \(.expected) \(.actual)"' <<<"$verdict")
	[ "$misses" = "rtmr1 $RTMR1 $CHANGED_RTMR1" ] || fail "the verdict does not show RTMR1's expected and actual values: $verdict"
	[ -z "$(release_rows)" ] || fail "keys were released: $(release_rows)"
	AUDIT_SUMMARY="attestation: $(boot_rows); verdict: rtmr1 expected ${RTMR1:0:8}... actual ${CHANGED_RTMR1:0:8}...; releases: none"
}

scenario_broker_stopped() {
	stop_broker
	local status
	set +e
	(
		set -e
		boot broker-stopped "$GOOD_FORGE_ARGS" config cache root storage
		expect_powered_off
		[ ! -s "$B/report.txt" ] || fail "the guest reached the root filesystem"
		[ "$(tr -d '\r' <"$B/console.log" | grep -c '^Warning: bootkey: nonce from https://broker.bootkey.test: no response')" -eq 3 ] ||
			fail "expected 3 attempts without response"
		console_has 'bootkey: boot attestation: giving up after 3 attempts' || fail "no give-up line"
		console_has 'bootkey: no root key released; powering off' || fail "no power-off line on the console"
		if console_has 'root disk unlocked'; then fail "the root disk was unlocked"; fi
		[ ! -s "$B/quotes.log" ] || fail "a quote was requested without a nonce"
		[ -z "$(boot_rows)" ] || fail "audit rows while the broker was down: $(boot_rows)"
	)
	status=$?
	set -e
	start_broker
	[ "$status" -eq 0 ] || return "$status"
	AUDIT_SUMMARY="attestation: none; releases: none"
}

passed=0
failed=0
failures=()
log "== boots (QEMU TCG, -cpu max -smp 1 -m 512, timeout ${BOOT_TIMEOUT_S} s each)"
for scenario in "${SCENARIOS[@]}"; do
	T0=$(sql "SELECT now()")
	t=$SECONDS
	rm -f "$H/last-boot" "$H/summary"
	# set +e outside, set -e inside: a subshell in an `||` list would ignore set -e.
	set +e
	(
		set -e
		AUDIT_SUMMARY=
		"scenario_$scenario"
		echo "$AUDIT_SUMMARY" >"$H/summary"
	) 2>"$H/scenario-errors.log"
	status=$?
	set -e
	b=$(cat "$H/last-boot" 2>/dev/null || true)
	boot_s=$(cat "$b/seconds" 2>/dev/null || echo "?")
	if [ "$status" -eq 0 ]; then
		passed=$((passed + 1))
		log "   pass  $scenario (boot ${boot_s} s, scenario $((SECONDS - t)) s)"
		log "         $(cat "$H/summary")"
	else
		failed=$((failed + 1))
		failures+=("$scenario")
		log "   FAIL  $scenario (boot ${boot_s} s, scenario $((SECONDS - t)) s)"
		cat "$H/scenario-errors.log" >&2
		if [ -n "$b" ]; then
			log "    last console lines of $b:"
			tr -d '\r' <"$b/console.log" | grep -v '^[[:space:]]*$' | tail -n 40 | sed 's/^/      | /' >&2
			log "    report: $(tr '\n' ' ' <"$b/report.txt")"
		fi
	fi
done

if ! host_tool_digests | cmp -s - "$H/host-tools.before"; then
	failed=$((failed + 1))
	failures+=("host-programs")
	log "   FAIL  a host program the build touches changed:"
	host_tool_digests | diff "$H/host-tools.before" - >&2 || true
fi

log ""
[ "${#failures[@]}" -eq 0 ] || log "failed: ${failures[*]}"
log "total $((SECONDS - started)) s"
echo "boot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
