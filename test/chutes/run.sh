#!/usr/bin/env bash
# Chutes client tests (npm run test:chutes): our own clients, written from CHUTES-PROTOCOL.md and
# DESIGN.md, exercise the broker (built from this repo, HTTPS on loopback) as real Chutes clients
# do:
#   - vm/: a gen-B VM (sek8s v0.2.1 generation) under busybox sh, with real cryptsetup on image
#     files; stand-ins only for the quote generator (the repo's forge), device-mapper (the
#     initramfs harness's cryptsetup shim: open = --test-passphrase) and power-off (recorded);
#   - vm-c/: a gen-C VM (image 1.4.0: signed boot, root key rotation, runtime-quote /provision,
#     volume rotation, validator auth) the same way, plus stand-ins for the sr25519 CLI and the
#     RTMR3 extend (the quote stand-in then reports the runtime RTMR3);
#   - miner/: chutes-miner's signing and loops, registration against a fake VM attestation proxy
#     that enforces the validator signature, and a chutes-nvattest stand-in checking its contract.
# Everything is written under one temp directory; the host binaries that stand-ins shadow on
# PATH are checksummed before and after. Prints "chutes: N passed, N failed".
#   test/chutes/run.sh [SCENARIO...]      (VM scenarios by name; "miner" for the miner side)
#   env BOOTKEY_TEST_KEEP=1 keeps the temp dir
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SCENARIOS=(first_boot reboot refusal rate_limited broker_unreachable delete_then_reboot
	c_first_boot c_reboot root_confirm_lost storage_confirm_lost gen_b_and_gen_c rc_image register_with_vm_auth miner)
[ "$#" -eq 0 ] || SCENARIOS=("$@")
# What a scenario needs that is built on another branch (printed when it fails).
declare -A WAITS_ON=(
	[delete_then_reboot]="chutes-srv (validator-signed evidence fetch, chutes-nvattest contract) and custody (DELETE keeps keys)"
	[c_first_boot]="the broker's gen-C boot (Gen C: signed boot, root rotation, /provision, /provision/confirm, vm_auth)"
	[c_reboot]="the broker's gen-C boot (Gen C: signed boot, root rotation, /provision, /provision/confirm, vm_auth)"
	[root_confirm_lost]="the broker's gen-C boot and its lost-confirm recovery (fallback root key)"
	[storage_confirm_lost]="the broker's gen-C provisioning and its lost-confirm recovery (fallback volume key)"
	[gen_b_and_gen_c]="the broker's gen-C boot"
	[rc_image]="rc gating (rc sets with authorized_hotkeys match only a proven listed hotkey)"
	[register_with_vm_auth]="registration with vm_auth (evidence fetch signed with the VM's key, proxy leaf issued by the VM root CA)"
)

# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=vm-scenarios.sh
. "$HERE/vm-scenarios.sh"
# shellcheck source=vmc-lib.sh
. "$HERE/vmc-lib.sh"
# shellcheck source=vmc-scenarios.sh
. "$HERE/vmc-scenarios.sh"

missing=
for tool in busybox shellcheck cryptsetup jq curl openssl mkfs.ext4 blkid wipefs node setsid timeout sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	log "missing:$missing (initramfs/test/install-deps.sh installs them)"
	exit 1
fi

H=$(mktemp -d "${TMPDIR:-/tmp}/bootkey-chutes.XXXXXX")
cleanup() {
	local status=$?
	stop_broker
	local pid
	for pid in $(cat "$H/pids" 2>/dev/null); do
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
record_host_binaries

passed=0
failed=0
failures=()
log "== shellcheck -s sh (VM clients and stand-ins)"
if (cd "$HERE" && shellcheck -s sh vm/fetch_key_and_unlock vm/setup_storage vm/standins/* miner/chutes-nvattest) &&
	(cd "$HERE/vm-c" && shellcheck -x -s sh chutes-common fetch_key_and_unlock rootfs-measure setup_storage setup_vm_tls \
		write-validator-auth standins/*); then
	passed=$((passed + 1))
	log "   pass  shellcheck"
else
	failed=$((failed + 1))
	failures+=(shellcheck)
	log "   FAIL  shellcheck"
fi

log "== building the broker, starting it and the fake VM agent"
# The build (the slow part) runs while the home and the agent are set up; launch_broker runs
# what build_broker leaves in $H/broker-build.
(build_broker) &
build_pid=$!
echo "$build_pid" >>"$H/pids"
setup_home
setup_home_c
start_agent
wait "$build_pid" || { log "the broker did not build"; exit 1; }
BUILD_DIR=$H/broker-build
start_broker
log "   ready ($((SECONDS - started)) s)"

log "== VM clients (gen B, gen C; busybox sh) and miner client"
for scenario in "${SCENARIOS[@]}"; do
	if [ "$scenario" = miner ]; then
		results=$H/miner-results.json
		"${TS_NODE[@]}" "$HERE/miner/miner-e2e.ts" --url "$BROKER_URL" --ca "$H/tls/server.crt" \
			--hotkey-file "$HOTKEY_FILE" --agent-dir "$H/agent" --nvattest-log "$H/nvattest.jsonl" \
			--validator-seed-file "$H/secrets/validator-seed" --results "$results" || true
		if [ -s "$results" ]; then
			passed=$((passed + $(jq .passed "$results")))
			failed=$((failed + $(jq .failed "$results")))
			[ "$(jq .failed "$results")" -eq 0 ] || failures+=(miner)
		else
			failed=$((failed + 1))
			failures+=(miner)
			log "   FAIL  the miner tests did not run"
		fi
		continue
	fi
	: >"$H/scenario-output.log"
	t0=$SECONDS
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
		failures+=("$scenario")
		log "   FAIL  $scenario ($((SECONDS - t0)) s)"
		cat "$H/scenario-errors.log" >&2
		[ -z "${WAITS_ON[$scenario]:-}" ] || log "    (needs ${WAITS_ON[$scenario]})"
		log "    VM client output:"
		cat "$H/scenario-output.log" >&2
	fi
done

stop_broker
if check_host_binaries; then
	passed=$((passed + 1))
	log "   pass  host binaries shadowed by stand-ins are unchanged"
else
	failed=$((failed + 1))
	failures+=(host_binaries)
	log "   FAIL  a host binary shadowed by a stand-in changed"
fi

log ""
[ "${#failures[@]}" -eq 0 ] || log "failed: ${failures[*]}"
log "run time $((SECONDS - started)) s"
log "chutes: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
