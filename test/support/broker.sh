# shellcheck shell=bash
# Shared by the shell harnesses (initramfs/test, test/boot): logging, a free port, and the real
# broker built from this repository, started in the background and waited for. Needs REPO and
# H (the harness's temp home). Bash.

log() { printf '%s\n' "$*" >&2; }

# fail MESSAGE: an assertion failed (the scenario subshell stops under set -e).
fail() {
	log "    FAIL: $*"
	return 1
}

# free_port: an unused loopback TCP port.
free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# build_broker: compiles the broker (as `npm start` does, CommonJS) into $H/broker-build, leaving
# dist/ and node_modules/ alone; launch_broker runs it with NODE_PATH at the repo's node_modules.
# Type errors are the typecheck step's business; tsc still emits JavaScript, which is run.
build_broker() {
	BUILD_DIR=$H/broker-build
	if ! (cd "$REPO" && npx --no-install tsc -p tsconfig.build.json --outDir "$BUILD_DIR" >"$H/tsc.log" 2>&1); then
		log "   tsc reported errors (first lines below); running the JavaScript it emitted"
		head -n 5 "$H/tsc.log" | cut -c1-200 >&2
	fi
	[ -f "$BUILD_DIR/src/main.js" ] || fail "the broker did not build"
}

# launch_broker CA_FILE VAR=VALUE...: starts the built broker in the background with that
# environment (PORT and the TLS files among it; BROKER_URL set), logging to $H/broker.log, and
# waits up to 40 s for /readyz over HTTPS verified with CA_FILE.
launch_broker() {
	local ca_file=$1
	shift
	(
		cd "$REPO" || exit 1
		exec env NODE_PATH="$REPO/node_modules" HOST=127.0.0.1 RATE_LIMIT_ANON_PER_MIN=0 LOG_LEVEL=warn "$@" node "$BUILD_DIR/src/main.js"
	) >>"$H/broker.log" 2>&1 &
	echo $! >"$H/broker.pid"
	local i
	for i in $(seq 1 160); do
		if curl -sf --cacert "$ca_file" "$BROKER_URL/readyz" >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$(cat "$H/broker.pid")" 2>/dev/null; then
			log "broker exited; its log:"
			tail -n 20 "$H/broker.log" >&2
			return 1
		fi
		sleep 0.25
	done
	fail "the broker did not answer within 40 s"
}

# stop_broker: stops the broker launch_broker started (TERM, then KILL after 20 s), if any.
stop_broker() {
	local pid
	pid=$(cat "$H/broker.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	local i
	for i in $(seq 1 80); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$H/broker.pid"
}
