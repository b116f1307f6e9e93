#!/bin/sh
# Checks of bootkey-functions' small functions, run under each shell under test:
#   SHELL unit.sh LIBRARY
# Prints one line per failed check and "unit: N passed, M failed"; exit status 1 on any failure.
set -eu
# shellcheck source=../lib/bootkey-functions
. "$1"
bootkey_defaults
passed=0
failed=0

check() {
	if [ "$2" = "$3" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "unit: $1: expected '$3', got '$2'"
	fi
}

status() {
	_s=0
	"$@" || _s=$?
	echo "$_s"
}

# quiet_status COMMAND...: like status, with COMMAND's own output discarded.
quiet_status() {
	_s=0
	"$@" >/dev/null || _s=$?
	echo "$_s"
}

tmp=$(mktemp)
bootkey_hex_to_bin 00ff7f80410a0d >"$tmp"
check "hex_to_bin bytes" "$(od -An -v -tx1 <"$tmp" | tr -d ' \n')" "00ff7f80410a0d"
all=
i=0
while [ "$i" -lt 64 ]; do
	all=${all}$(printf '%02x' $((i * 4)))
	i=$((i + 1))
done
bootkey_hex_to_bin "$all" >"$tmp"
check "hex_to_bin 64 bytes" "$(od -An -v -tx1 <"$tmp" | tr -d ' \n')" "$all"
check "hex_to_bin size" "$(wc -c <"$tmp" | tr -d ' ')" 64
check "hex_to_bin rejects odd" "$(status bootkey_hex_to_bin abc)" 1
check "hex_to_bin rejects upper" "$(status bootkey_hex_to_bin AB)" 1
rm -f "$tmp"

check "is_hex ok" "$(status bootkey_is_hex "$(printf '%064d' 0)" 64)" 0
check "is_hex short" "$(status bootkey_is_hex abc 64)" 1
check "is_hex upper" "$(status bootkey_is_hex ABCD 4)" 1
check "vm_name ok" "$(status bootkey_is_vm_name vm-01_a)" 0
check "vm_name leading dash" "$(status bootkey_is_vm_name -vm)" 1
check "vm_name dotted (a DNS subdomain)" "$(status bootkey_is_vm_name node-1.gpu.example)" 0
check "vm_name two dots" "$(status bootkey_is_vm_name vm..a)" 1
check "vm_name trailing dot" "$(status bootkey_is_vm_name vm.)" 1
check "vm_name trailing dash" "$(status bootkey_is_vm_name vm-)" 1
check "vm_name slash" "$(status bootkey_is_vm_name vm/a)" 1
check "vm_name 254 chars" "$(status bootkey_is_vm_name "a$(printf '%0253d' 0)")" 1
check "vm_name 253 chars" "$(status bootkey_is_vm_name "a$(printf '%0252d' 0)")" 0
check "ss58 ok" "$(status bootkey_is_ss58 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY)" 0
check "ss58 zero" "$(status bootkey_is_ss58 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut0Y)" 1

check "classify 200" "$(status bootkey_classify_status 200)" 0
for code in 000 429 500 502 503; do check "classify $code" "$(status bootkey_classify_status $code)" 2; done
for code in 400 401 403 404 422; do check "classify $code" "$(status bootkey_classify_status $code)" 1; done

BOOTKEY_URLS="https://a/ https://b"
check "pick_url 1" "$(bootkey_pick_url 1)" "https://a"
check "pick_url 2" "$(bootkey_pick_url 2)" "https://b"
check "pick_url 3" "$(bootkey_pick_url 3)" "https://a"
BOOTKEY_URLS="https://only"
check "pick_url single" "$(bootkey_pick_url 5)" "https://only"

BOOTKEY_BACKOFF_BASE_S=2 BOOTKEY_BACKOFF_MAX_S=10 BOOTKEY_JITTER_S=0 BOOTKEY_RETRY_AFTER_MAX_S=30
check "backoff 1" "$(bootkey_backoff_delay 1 '')" 2
check "backoff 3" "$(bootkey_backoff_delay 3 '')" 8
check "backoff capped" "$(bootkey_backoff_delay 9 '')" 10
check "retry-after" "$(bootkey_backoff_delay 1 7)" 7
check "retry-after capped" "$(bootkey_backoff_delay 1 300)" 30
BOOTKEY_JITTER_S=3
jitter_ok=yes
for _ in 1 2 3 4 5 6 7 8; do
	d=$(bootkey_backoff_delay 1 '')
	[ "$d" -ge 2 ] && [ "$d" -le 5 ] || jitter_ok="no ($d)"
done
check "backoff jitter within [base, base+3]" "$jitter_ok" yes

bootkey_parse_volume "storage,/dev/vdb"
check "volume defaults" "$BK_VOL_NAME|$BK_VOL_DEVICE|$BK_VOL_LABEL|$BK_VOL_MAPPER" "storage|/dev/vdb|storage|storage"
bootkey_parse_volume "tdx-cache,/dev/disk/by-path/pci-0000:00:05.0,cache-label,cachemap"
check "volume full" "$BK_VOL_NAME|$BK_VOL_DEVICE|$BK_VOL_LABEL|$BK_VOL_MAPPER" "tdx-cache|/dev/disk/by-path/pci-0000:00:05.0|cache-label|cachemap"
check "volume too many fields" "$(status bootkey_parse_volume a,b,c,d,e 2>/dev/null)" 1
check "volume no device" "$(status bootkey_parse_volume a 2>/dev/null)" 1
check "volume bad mapper" "$(status bootkey_parse_volume a,/dev/x,l,m/n 2>/dev/null)" 1

h64=$(printf 'ab%.0s' $(seq 64))
h64b=$(printf 'cd%.0s' $(seq 64))
h64c=$(printf 'ef%.0s' $(seq 64))
BK_VOLUME_KEYS="{\"storage\":{\"current\":\"$h64\",\"previous\":[\"$h64b\",\"$h64c\"]},\"tdx-cache\":\"$h64b\",\"bad\":{\"current\":\"$h64\",\"previous\":[\"short\"]}}"
check "volume_key object" "$(bootkey_volume_key storage)" "$h64"
check "volume_key string" "$(bootkey_volume_key tdx-cache)" "$h64b"
check "volume_key absent" "$(status bootkey_volume_key other)" 1
check "previous_count" "$(bootkey_volume_previous_count storage)" 2
check "previous_count string" "$(bootkey_volume_previous_count tdx-cache)" 0
check "previous_count absent" "$(bootkey_volume_previous_count other)" 0
check "previous newest" "$(bootkey_volume_previous storage 0)" "$h64b"
check "previous oldest" "$(bootkey_volume_previous storage 1)" "$h64c"
check "previous past the end" "$(status bootkey_volume_previous storage 2)" 1
check "keys valid" "$(status bootkey_volume_keys_valid storage)" 0
check "keys valid (string)" "$(status bootkey_volume_keys_valid tdx-cache)" 0
check "keys invalid previous" "$(status bootkey_volume_keys_valid bad)" 1
check "keys absent" "$(status bootkey_volume_keys_valid other)" 1
BK_VOLUME_KEYS=

pin=sha256//$(printf 'A%.0s' $(seq 43))=
check "pin ok" "$(status bootkey_is_pin "$pin")" 0
check "pin two" "$(status bootkey_is_pin "$pin;$pin")" 0
check "pin empty" "$(status bootkey_is_pin '')" 1
check "pin no prefix" "$(status bootkey_is_pin "${pin#sha256//}")" 1
check "pin short" "$(status bootkey_is_pin sha256//AAAA=)" 1
check "pin bad char" "$(status bootkey_is_pin "sha256//$(printf 'A%.0s' $(seq 42))-=")" 1
check "pin trailing ;" "$(status bootkey_is_pin "$pin;")" 1
check "pin a file path" "$(status bootkey_is_pin /etc/broker.pem)" 1

dir=$(mktemp -d)
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' >"$dir/broker-ca.pem"
i=0
while [ "$i" -lt 9 ]; do
	cat "$dir/broker-ca.pem"
	i=$((i + 1))
done >"$dir/bundle.pem"
cp "$dir/bundle.pem" "$dir/copy.pem"
ln -s "$dir/bundle.pem" "$dir/link.pem"
printf -- '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n' >"$dir/system.pem"
cp "$dir/system.pem" "$dir/system-copy.pem"
BK_SYSTEM_CA_BUNDLES="$dir/missing.pem $dir/system.pem"
check "trust: dedicated CA" "$(status bootkey_trust_problem "$dir/broker-ca.pem" '')" 0
check "trust: pin" "$(status bootkey_trust_problem "$dir/system.pem" "$pin")" 0
check "trust: system bundle" "$(quiet_status bootkey_trust_problem "$dir/system.pem" '')" 1
check "trust: copy of the system bundle" "$(quiet_status bootkey_trust_problem "$dir/system-copy.pem" '')" 1
check "trust: path of a missing system bundle" "$(quiet_status bootkey_trust_problem "$dir/missing.pem" '')" 1
check "trust: 9 certificates" "$(quiet_status bootkey_trust_problem "$dir/bundle.pem" '')" 1
check "trust: link to 9 certificates" "$(quiet_status bootkey_trust_problem "$dir/link.pem" '')" 1
check "trust: a directory" "$(quiet_status bootkey_trust_problem "$dir" '')" 1
check "trust: bad pin" "$(quiet_status bootkey_trust_problem "$dir/broker-ca.pem" sha256//x)" 1
ln -s "$dir/system.pem" "$dir/system-link.pem"
check "trust: link to the system bundle" "$(bootkey_trust_problem "$dir/system-link.pem" '' | grep -c 'is the system CA bundle')" 1
check "trust: one line saying what to set" "$(bootkey_trust_problem "$dir/system.pem" '' | grep -c 'set BOOTKEY_PINNED_PUBKEY=.* or BOOTKEY_CA_FILE')" 1

truncate -s 4M "$dir/blank.img"
check "signatures: blank" "$(bootkey_device_signatures "$dir/blank.img")" ""
check "signatures: blank status" "$(status bootkey_device_signatures "$dir/blank.img")" 0
cp "$dir/blank.img" "$dir/dos.img"
printf '\000\040\041\000\203\276\077\003\000\010\000\000\000\370\000\000' | dd of="$dir/dos.img" bs=1 seek=446 conv=notrunc 2>/dev/null
printf '\125\252' | dd of="$dir/dos.img" bs=1 seek=510 conv=notrunc 2>/dev/null
check "signatures: partition table" "$(bootkey_device_signatures "$dir/dos.img")" dos
check "signatures: missing device" "$(status bootkey_device_signatures "$dir/none.img")" 1
rm -rf "$dir"

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
