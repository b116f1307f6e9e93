#!/usr/bin/env bash
# Test driver for the bootkey initramfs scripts (npm run test:initramfs). Runs the real scripts
# under busybox sh and dash against the real broker (built from this repo, HTTPS on loopback,
# client certificates), with real cryptsetup on image files. What cannot run here is shimmed
# through PATH only (fakes/shims): device-mapper (open -> open --test-passphrase), mkfs.ext4
# (recorded, then run on a file), mount of the config volume, configfs-tsm (FIFOs answered by
# the repo's quote forge). One scenario per file in scenarios/.
#   initramfs/test/run.sh [SCENARIO...]     (env BOOTKEY_TEST_SHELLS="busybox dash")
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHELLS=${BOOTKEY_TEST_SHELLS:-busybox dash}
SCENARIOS=(first_boot second_boot volume_recreated broker_restarted broker_unreachable
	measurement_mismatch rate_limited tsm_generation_race hook_trust pinned_broker foreign_device
	disk_reorder intruder_rekey lost_sync_answer sync_token_spent sync_token_spent_twice server_readded)
[ "$#" -eq 0 ] || SCENARIOS=("$@")

# shellcheck source=lib.sh
. "$HERE/lib.sh"
for f in "$HERE"/scenarios/*.sh; do
	# shellcheck source=/dev/null
	. "$f"
done

missing=
for tool in busybox dash shellcheck cryptsetup jq curl openssl mkfs.ext4 blkid wipefs node setsid timeout; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	log "missing:$missing (initramfs/test/install-deps.sh installs them)"
	exit 1
fi

H=$(mktemp -d "${TMPDIR:-/tmp}/bootkey-initramfs.XXXXXX")
# The host programs the harness shadows, to check at the end that none was written through.
host_tool_digests >"$H/host-tools.before"
cleanup() {
	local status=$?
	stop_broker
	local pid
	for pid in $(cat "$H/pids" "$H"/vms/*/tsm-helper.pids 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
	done
	if [ "$status" -eq 0 ] && [ -z "${BOOTKEY_TEST_KEEP:-}" ]; then
		rm -rf "$H"
	else
		log "test files kept in $H"
	fi
}
trap cleanup EXIT

started=$SECONDS
log "== shellcheck -s sh"
shellcheck_status=0
(cd "$REPO/initramfs" && shellcheck -s sh hooks/bootkey scripts/*/bootkey lib/bootkey-functions \
	bootkey.conf.example test/install-deps.sh test/unit.sh test/fakes/tsm-helper test/fakes/quote-cmd test/fakes/poweroff \
	test/fakes/hook-functions test/fakes/shims/*) ||
	shellcheck_status=1
[ "$shellcheck_status" -eq 0 ] && log "   clean" || log "   FAILED"

log "== building and starting the broker"
setup_home
build_broker
start_broker

passed=0
failed=0
failures=()
for SHELL_NAME in $SHELLS; do
	case $SHELL_NAME in
	busybox) SHELL_CMD="busybox sh" ;;
	dash) SHELL_CMD=dash ;;
	*) log "unknown shell $SHELL_NAME"; exit 2 ;;
	esac
	log "== $SHELL_NAME"
	if $SHELL_CMD "$HERE/unit.sh" "$REPO/initramfs/lib/bootkey-functions" >"$H/unit-$SHELL_NAME.log" 2>&1; then
		passed=$((passed + 1))
		log "   pass  unit ($(tail -n1 "$H/unit-$SHELL_NAME.log"))"
	else
		failed=$((failed + 1))
		failures+=("$SHELL_NAME/unit")
		log "   FAIL  unit"
		sed 's/^/      /' "$H/unit-$SHELL_NAME.log" >&2
	fi
	for scenario in "${SCENARIOS[@]}"; do
		: >"$H/scenario-output.log"
		t0=$SECONDS
		# Not `( … ) || status=$?`: bash ignores set -e inside a subshell whose status is tested,
		# so a failed check in the middle of a scenario would go unnoticed.
		set +e
		(
			set -e
			"scenario_$scenario"
		) 2>"$H/scenario-errors.log"
		status=$?
		set -e
		if [ "$status" -eq 0 ]; then
			passed=$((passed + 1))
			log "   pass  $scenario ($((SECONDS - t0)) s)"
		else
			failed=$((failed + 1))
			failures+=("$SHELL_NAME/$scenario")
			log "   FAIL  $scenario ($((SECONDS - t0)) s)"
			cat "$H/scenario-errors.log" >&2
			log "    script output:"
			cat "$H/scenario-output.log" >&2
		fi
	done
done

host_tools_status=0
if ! host_tool_digests | cmp -s - "$H/host-tools.before"; then
	host_tools_status=1
	log "   FAIL  a host program the harness shadows changed:"
	host_tool_digests | diff "$H/host-tools.before" - >&2 || true
fi

log ""
log "initramfs: $passed passed, $failed failed, shellcheck $([ "$shellcheck_status" -eq 0 ] && echo clean || echo FAILED), host programs $([ "$host_tools_status" -eq 0 ] && echo unchanged || echo CHANGED) ($((SECONDS - started)) s)"
[ "${#failures[@]}" -eq 0 ] || log "failed: ${failures[*]}"
[ "$failed" -eq 0 ] && [ "$shellcheck_status" -eq 0 ] && [ "$host_tools_status" -eq 0 ]
