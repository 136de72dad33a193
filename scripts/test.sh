#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make test: build everything, boot one VM, run every test, print a KTAP
# summary and the closing line "N passed, N failed". T=name runs the
# selftests and KUnit suites whose name contains 'name'.
set -euo pipefail
. "$(dirname "$0")/env.sh"

T=${T:-}
# Absolute: the guest's tests run in their own folders (health.sh hands
# QMP commands to the host through files in OUT).
OUT=$(realpath -m "${OUT:-$TOP/out/test}")

# Our KUnit suites, expected in the boot log by name (with those that
# rust/ declares with kunit_tests), and the fewest Rust doctests that may
# run (the count of the last landed run; the build's own count of its
# doctests is checked too). A suite that vanishes from the boot log fails.
KUNIT_SUITES="rust_devlink_fmsg rust_devlink_health rust_netlink_ext_ack rust_net_skbuff
	rust_doctests_kernel"
DOCTESTS_MIN=375
# The skips that are allowed, each with its reason; any other skip, of a
# selftest or a KUnit suite, is a failure, on CI and off it.
EXPECTED_SKIPS=$TOP/tools/testing/selftests/expected-skips

# The KASAN proof module is built only when its test is asked for.
case $T in *rkasan_oob*) export RDL_KASAN_PROOF=m ;; esac
"$TOP/scripts/build.sh" all
rm -rf "$OUT"
mkdir -p "$OUT"
rdl_print_env >"$OUT/env.sh"
# The guest's Python, unpacked into a tmpfs there (scripts/guest/python.sh).
"$TOP/scripts/guest-python.sh" "$OUT/python.tar"
# What a test takes from the make command line (make fuzz: scripts/fuzz.sh).
for v in FUZZ_N FUZZ_SEED FUZZ_ARGS PROBE_STRIDE RDL_TEST_TIMEOUT; do
	if [ -n "${!v:-}" ]; then printf "%s=%q\n" "$v" "${!v}"; fi
done >>"$OUT/env.sh"

log "booting the test kernel (logs: $OUT)"
t0=$SECONDS
set +e
"$TOP/scripts/vm.sh" "$OUT" "scripts/guest/run-tests.sh '$OUT' '$T'" >"$OUT/console.log" 2>&1
vm_rc=$?
set -e
log "VM finished in $((SECONDS - t0)) s (exit status $vm_rc)"
# The guest cuts each test's timeout to what is left of the VM's limit, so
# that a hung test still leaves time for the kmemleak scan and the log copy.
limit=$(cat "$OUT/vm-timeout" 2>/dev/null || echo "?")
sum=$("$TOP/scripts/guest/run-tests.sh" --timeouts "$T" | awk '{ s += $2 } END { print s + 0 }')
log "the selected tests' timeouts sum to $sum s, the VM's limit is $limit s" \
	"(each timeout is cut to what is left of it)"

results=$OUT/summary
: >"$results"

# KUnit (our suites and the Rust doctests) ran at boot: its KTAP is in the
# boot log. Top-level suite results are the unindented "ok N name" lines.
kunit() {
	local log=$1
	sed -e 's/^\[[ 0-9.]*\] //' "$log" | awk -v T="$T" -v ours=" $(our_suites | xargs) " '
		/^    # Subtest: / { pass = fail = skip = 0 }
		/^    ok [0-9]+ / { if ($0 ~ /# SKIP/) skip++; else pass++ }
		/^    not ok [0-9]+ / { fail++ }
		/^(not )?ok [0-9]+ [^ ]+/ {
			res = ($1 == "ok") ? "ok" : "not ok"
			name = (res == "ok") ? $3 : $4
			p = pass; f = fail; k = skip
			pass = fail = skip = 0
			if (index(name, T) == 0) next
			# A suite skipped, or one of ours with skipped cases (the
			# kernel crate has cfg-disabled ones), has not passed.
			why = ""
			if (res == "ok" && $0 ~ /# SKIP/) {
				res = "skip"
				why = $0
				sub(/.*# SKIP */, "", why)
				why = "suite skipped" (why == "" ? "" : ": " why) ", "
			} else if (res == "ok" && k && index(ours, " " name " ")) {
				res = "skip"
				why = "cases skipped, "
			}
			printf "%s kunit: %s # %spass:%d fail:%d skip:%d\n",
				res, name, why, p, f, k
			seen++
		}
		END {
			if (!seen && T == "")
				print "not ok kunit # no KUnit results in the boot log"
		}'
}

# Our suites: those named above and those of our part of rust/.
our_suites() {
	{
		printf '%s\n' $KUNIT_SUITES
		grep -rhoE 'kunit_tests\(\w+\)' "$TOP/rust" | sed 's/.*(\(.*\))/\1/'
	} | sort -u
}

# Each of our suites (asked for by T) must have run, and the doctests all of
# theirs.
kunit_expected() {
	local s line n built
	for s in $(our_suites); do
		case $s in *"$T"*) ;; *) continue ;; esac
		grep -qE "^(ok|not ok|skip) kunit: $s " "$results" ||
			echo "not ok kunit: $s # suite missing from the boot log"
	done
	line=$(grep -E '^(ok|not ok|skip) kunit: rust_doctests_kernel ' "$results") || return 0
	n=$(echo "$line" | sed -E 's/.*pass:([0-9]+) fail:([0-9]+) skip:([0-9]+)/\1+\2+\3/')
	n=$((n))
	built=$(grep -c 'KUNIT_CASE(' "$BUILD/rust/doctests_kernel_generated_kunit.c" \
		2>/dev/null) || true
	if [ "$n" -lt "$DOCTESTS_MIN" ]; then
		echo "not ok kunit: rust_doctests_kernel #" \
			"$n doctests ran, fewer than $DOCTESTS_MIN"
	elif [ -n "$built" ] && [ "$n" != "$built" ]; then
		echo "not ok kunit: rust_doctests_kernel # $n doctests ran, the build has $built"
	fi
}

# A skip passes only when listed, with its reason, in $EXPECTED_SKIPS
# ("NAME # REASON" lines: the skip's own reason must contain REASON).
skip_policy() {
	local line name why want
	while read -r line; do
		case $line in "skip "*) ;; *) echo "$line"; continue ;; esac
		line=${line#skip }
		name=${line%% # *}
		why=${line#"$name"}
		why=${why# # }
		want=$(awk -v n="$name" \
			'index($0, n " # ") == 1 { print substr($0, length(n) + 4) }' \
			"$EXPECTED_SKIPS" 2>/dev/null) || true
		if [ -n "$want" ] && [ -n "$why" ] && [[ $why == *"$want"* ]]; then
			echo "skip $name # $why (expected)"
		else
			echo "not ok $name # unexpected skip: ${why:-no reason}" \
				"(allowed skips: ${EXPECTED_SKIPS#"$TOP"/})"
		fi
	done
}

if [ -f "$OUT/boot-dmesg.txt" ]; then
	kunit "$OUT/boot-dmesg.txt" >>"$results"
	kunit_expected >>"$results"
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
	tail -n 30 "$OUT/console.log" >&2 || true
elif [ "$vm_rc" != 0 ]; then
	echo "not ok vm # exit status $vm_rc after the run (see $OUT/console.log)" >>"$results"
	tail -n 30 "$OUT/console.log" >&2 || true
fi

# A splat outside every test (between tests, during the kmemleak scan).
if [ -f "$OUT/dmesg.txt" ]; then
	splat=$(awk '/rdl-test: begin /{inside=1} /rdl-test: end /{inside=0; next} !inside' \
		"$OUT/dmesg.txt" | tail -n +"$(($(wc -l <"$OUT/boot-dmesg.txt") + 1))" |
		"$TOP/scripts/splat.sh" | head -n 1 || true)
	[ -z "$splat" ] || echo "not ok between-tests # kernel splat: $splat" >>"$results"
fi

skip_policy <"$results" >"$results.new"
mv "$results.new" "$results"

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
# Which devlink the tests ran (the guest's 'devlink -V').
[ ! -f "$OUT/devlink-version" ] || echo "# $(cat "$OUT/devlink-version")"
[ ! -s "$OUT/python-version" ] || echo "# $(cat "$OUT/python-version"), from a tmpfs"
echo "# logs: $OUT"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ] && [ $pass -gt 0 ]
