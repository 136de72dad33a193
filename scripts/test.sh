#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make test: build everything, boot one VM, run every test, print a KTAP
# summary and the closing line "N passed, N failed". T=name runs the
# selftests and KUnit suites whose name contains 'name'.
set -euo pipefail
. "$(dirname "$0")/env.sh"

T=${T:-}
OUT=${OUT:-$TOP/out/test}

# The KASAN proof module is built only when its test is asked for.
case $T in *rkasan_oob*) export RDL_KASAN_PROOF=m ;; esac
"$TOP/scripts/build.sh" all
rm -rf "$OUT"
mkdir -p "$OUT"
rdl_print_env >"$OUT/env.sh"

log "booting the test kernel (logs: $OUT)"
t0=$SECONDS
set +e
"$TOP/scripts/vm.sh" "$OUT" "scripts/guest/run-tests.sh '$OUT' '$T'" >"$OUT/console.log" 2>&1
vm_rc=$?
set -e
log "VM finished in $((SECONDS - t0)) s (exit status $vm_rc)"

results=$OUT/summary
: >"$results"

# KUnit (our suites and the Rust doctests) ran at boot: its KTAP is in the
# boot log. Top-level suite results are the unindented "ok N name" lines.
kunit() {
	local log=$1
	sed -e 's/^\[[ 0-9.]*\] //' "$log" | awk -v T="$T" '
		/^    # Subtest: / { pass = fail = skip = 0 }
		/^    ok [0-9]+ / { if ($0 ~ /# SKIP/) skip++; else pass++ }
		/^    not ok [0-9]+ / { fail++ }
		/^(not )?ok [0-9]+ [^ ]+/ {
			res = ($1 == "ok") ? "ok" : "not ok"
			name = (res == "ok") ? $3 : $4
			if (index(name, T) == 0) next
			printf "%s kunit: %s # pass:%d fail:%d skip:%d\n",
				res, name, pass, fail, skip
			seen++
		}
		END {
			if (!seen && T == "")
				print "not ok kunit # no KUnit results in the boot log"
		}'
}

if [ -f "$OUT/boot-dmesg.txt" ]; then
	kunit "$OUT/boot-dmesg.txt" >>"$results"
	splat=$("$TOP/scripts/splat.sh" <"$OUT/boot-dmesg.txt" | head -n 1 || true)
	if [ -n "$splat" ]; then
		echo "not ok boot # kernel splat during boot: $splat" >>"$results"
	else
		echo "ok boot" >>"$results"
	fi
fi
[ -f "$OUT/results" ] && cat "$OUT/results" >>"$results"
if [ -n "$T" ] && ! grep -qvE '^(ok|not ok|skip) (boot|kmemleak)( |$)' "$results"; then
	echo "not ok T=$T # no KUnit suite or selftest matches" >>"$results"
fi
if [ ! -f "$OUT/status" ]; then
	echo "not ok vm # the run did not complete (exit status $vm_rc, see $OUT/console.log)" \
		>>"$results"
	tail -n 30 "$OUT/console.log" >&2
fi

# A splat outside every test (between tests, during the kmemleak scan).
if [ -f "$OUT/dmesg.txt" ]; then
	splat=$(awk '/rdl-test: begin /{inside=1} /rdl-test: end /{inside=0; next} !inside' \
		"$OUT/dmesg.txt" | tail -n +"$(($(wc -l <"$OUT/boot-dmesg.txt") + 1))" |
		"$TOP/scripts/splat.sh" | head -n 1 || true)
	[ -z "$splat" ] || echo "not ok between-tests # kernel splat: $splat" >>"$results"
fi

pass=0 fail=0 skip=0 i=0
echo "TAP version 13"
echo "1..$(wc -l <"$results")"
while read -r line; do
	i=$((i + 1))
	case $line in
	"ok "*) pass=$((pass + 1)); echo "ok $i ${line#ok }" ;;
	"skip "*)
		skip=$((skip + 1))
		line=${line#skip }
		reason=${line#"${line%% # *}"}
		echo "ok $i ${line%% # *} # SKIP${reason# #}" ;;
	*)
		fail=$((fail + 1))
		echo "not ok $i ${line#not ok }"
		# The failed test's own KTAP output, indented as kselftest does.
		name=${line#not ok }
		logf=$OUT/logs/$(echo "${name%% # *}" | tr / _).log
		[ ! -f "$logf" ] || sed 's/^/#   /' "$logf"
		;;
	esac
done <"$results"
echo "# logs: $OUT"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ] && [ $pass -gt 0 ]
