#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every 'devlink health' command on every kind of rdevsim reporter: empty
# (dump, diagnose), dummy (recover, dump, diagnose) and the port reporter
# link (all four). A command whose op the reporter lacks gets EOPNOTSUPP and
# changes nothing; the others do what they say, as 'devlink health show'
# tells, and the YNL client (the dump time in nanoseconds).

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$dir/../lib/expect.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

ID=4
DL=faux/rdevsim$ID
D=/sys/kernel/debug/rdevsim/rdevsim$ID
NOTSUP="Operation not supported"

# The three kinds: "handle reporter".
KINDS=("$DL empty" "$DL dummy" "$DL/1 link")

show() { devlink -j health show "$1" reporter "$2"; }
# write TEXT FILE: TEXT with backslash escapes, in one write.
write() { printf '%b' "$1" >"$2"; }
# The reporter's entry in 'show'.
entry() { show "$1" "$2" | jq '.health[][]'; }

# The YNL form of HANDLE REPORTER: JSON members.
ynl_id() {
	local dev=${1#faux/} port=
	case $dev in */*) port=",\"port-index\":${dev#*/}" && dev=${dev%%/*} ;; esac
	echo "\"bus-name\":\"faux\",\"dev-name\":\"$dev\"$port,\"health-reporter-name\":\"$2\""
}

# The reporter as YNL reads it: HANDLE REPORTER.
ynl_get() { rdevsim_ynl "do" health-reporter-get "{$(ynl_id "$1" "$2")}"; }

test_setup() {
	rdevsim_load && rdevsim_new $ID 2
}

# 'show' without a handle lists every reporter, ports' included; with a
# device handle, the device's and its ports'.
test_show_all() {
	local all
	all=$(rdevsim_ynl dump health-reporter-get \
		"{\"bus-name\":\"faux\",\"dev-name\":\"rdevsim$ID\"}")
	expect '[.[] | [.["port-index"] // "dev", .["health-reporter"]["health-reporter-name"]]]
		| sort ==
		[[0, "link"], [1, "link"], ["dev", "dummy"], ["dev", "empty"]]' "$all" &&
		expect "[.health | to_entries[] | select(.key | startswith(\"$DL\"))
			| .value[].reporter] | sort == [\"dummy\", \"empty\", \"link\", \"link\"]" \
			"$(devlink -j health show)" &&
		expect '[.health[][] | .reporter] == ["link"]' "$(show "$DL/1" link)"
}

# A reporter in error is recovered by 'recover'. On a healthy one, recover
# succeeds, op or not (nothing to recover, nothing counted): 'empty' cannot
# be put in error, so EOPNOTSUPP is seen on the sample's 'pcie' (tests of
# drivers/net/rust_devlink_health).
test_recover() {
	local k h r knob
	devlink health recover $DL reporter empty &&
		expect '.health[][] | .recover == 0 and (has("auto_recover") | not)' \
			"$(show $DL empty)" || return 1
	for k in "$DL dummy $D/health" "$DL/1 link $D/ports/1/health"; do
		read -r h r knob <<<"$k"
		devlink health set "$h" reporter "$r" auto_recover false &&
			echo "broken" >"$knob/break_health" &&
			expect '.health[][] | .state == "error" and .recover == 0' \
				"$(show "$h" "$r")" &&
			devlink health recover "$h" reporter "$r" &&
			expect '.health[][] | .state == "healthy" and .recover == 1' \
				"$(show "$h" "$r")" &&
			devlink health set "$h" reporter "$r" auto_recover true || return 1
	done
}

test_test() {
	fails "$NOTSUP" devlink health test $DL reporter empty &&
		fails "$NOTSUP" devlink health test $DL reporter dummy &&
		devlink health test $DL/1 reporter link
}

test_diagnose() {
	expect '. == {}' "$(devlink -j health diagnose $DL reporter empty)" &&
		expect '.test_string == "somestring"' \
			"$(devlink -j health diagnose $DL reporter dummy)" &&
		expect '.port == 1' "$(devlink -j health diagnose $DL/1 reporter link)"
}

# A dump show with nothing stored dumps now; dump clear drops what is
# stored, and 'show' stops giving its time. The time is the report's.
test_dump_show_clear() {
	local k h r before after ts
	for k in "${KINDS[@]}"; do
		read -r h r <<<"$k"
		set -- "$h" "$r"
		devlink health dump clear "$1" reporter "$2" &&
			expect 'has("last_dump_date") | not' "$(entry "$1" "$2")" &&
			devlink health dump show "$1" reporter "$2" >/dev/null &&
			expect 'has("last_dump_date") and has("last_dump_time")' \
				"$(entry "$1" "$2")" &&
			devlink health dump clear "$1" reporter "$2" &&
			expect 'has("last_dump_date") | not' "$(entry "$1" "$2")" ||
			return 1
	done
	before=$(date +%s%N)
	echo "timed" >"$D/health/break_health" || return 1
	after=$(date +%s%N)
	ts=$(ynl_get $DL dummy | jq '.["health-reporter"]["health-reporter-dump-ts-ns"]')
	if [ "$ts" -lt "$before" ] || [ "$ts" -gt "$after" ]; then
		ktap_print_msg "dump ts $ts not within [$before, $after]"
		return 1
	fi
	expect ".health[][] | .last_dump_date == \"$(date +%Y-%m-%d)\"" "$(show $DL dummy)"
}

# grace_period, auto_recover and burst_period need recover; auto_dump needs
# dump. Refused settings change nothing.
test_set() {
	local k h r
	fails "$NOTSUP" devlink health set $DL reporter empty grace_period 10 &&
		fails "$NOTSUP" devlink health set $DL reporter empty auto_recover false &&
		fails "$NOTSUP" devlink health set $DL reporter empty burst_period 10 &&
		expect '.health[][] | .auto_dump == true and (has("grace_period") | not)
			and (has("burst_period") | not)' "$(show $DL empty)" || return 1
	for k in "${KINDS[@]}"; do
		read -r h r <<<"$k"
		set -- "$h" "$r"
		devlink health set "$1" reporter "$2" auto_dump false &&
			expect '.health[][] | .auto_dump == false' "$(show "$1" "$2")" &&
			devlink health set "$1" reporter "$2" auto_dump true || return 1
	done
	for k in "${KINDS[@]:1}"; do
		read -r h r <<<"$k"
		set -- "$h" "$r"
		devlink health set "$1" reporter "$2" grace_period 3000 auto_recover false &&
			devlink health set "$1" reporter "$2" burst_period 700 &&
			expect '.health[][] | .grace_period == 3000 and .burst_period == 700
				and .auto_recover == false' "$(show "$1" "$2")" &&
			# A graceful period of 0 takes the burst period with it.
			devlink health set "$1" reporter "$2" grace_period 0 auto_recover true &&
			expect '.health[][] | .grace_period == 0 and .burst_period == 0
				and .auto_recover == true' "$(show "$1" "$2")" ||
			return 1
	done
}

test_bad_requests() {
	fails "Cannot set burst period without a grace period" \
		devlink health set $DL reporter dummy burst_period 100 &&
		fails "Invalid argument" devlink health show $DL/7 reporter link &&
		fails "Invalid argument" devlink health show $DL reporter link &&
		fails "Invalid argument" devlink health diagnose $DL/0 reporter dummy &&
		fails "No such device" devlink health show faux/rdevsim99 reporter dummy &&
		expect '.health[][] | .grace_period == 0 and .burst_period == 0' "$(show $DL dummy)"
}

# Port knobs refuse what they cannot take, and the stored dump stays.
test_bad_port_knobs() {
	local P=$D/ports/1/health before
	echo "kept" >"$P/break_health" || return 1
	before=$(devlink -j health dump show $DL/1 reporter link)
	fails "Invalid argument" write "$(printf 'x%.0s' {1..4097})" "$P/break_health" &&
		fails "Invalid argument" write maybe "$P/fail_recover" &&
		fails "Invalid argument" write 10001 "$P/recover_delay_ms" &&
		fails "Invalid argument" write -1 "$P/recover_delay_ms" &&
		fails "Invalid argument" write sick "$P/state" &&
		[ "$(cat "$P/fail_recover")" = N ] && [ "$(cat "$P/recover_delay_ms")" = 0 ] &&
		expect '.health[][] | .state == "healthy"' "$(show $DL/1 link)" &&
		[ "$(devlink -j health dump show $DL/1 reporter link)" = "$before" ]
}

# Without CAP_NET_ADMIN: 'show' only. Port knobs are root's too.
test_unprivileged() {
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	local f before
	before=$(show $DL/1 link)
	"${nobody[@]}" devlink health show $DL/1 reporter link >/dev/null &&
		fails "Operation not permitted" "${nobody[@]}" \
			devlink health test $DL/1 reporter link &&
		fails "Operation not permitted" "${nobody[@]}" \
			devlink health diagnose $DL/1 reporter link &&
		fails "Operation not permitted" "${nobody[@]}" \
			devlink health dump show $DL/1 reporter link &&
		fails "Operation not permitted" "${nobody[@]}" \
			devlink health dump clear $DL/1 reporter link &&
		fails "Operation not permitted" "${nobody[@]}" \
			devlink health set $DL/1 reporter link auto_dump false || return 1
	for f in break_health fail_recover recover_delay_ms state; do
		fails "Permission denied" "${nobody[@]}" sh -c "echo 1 > $D/ports/1/health/$f" ||
			return 1
	done
	[ "$(show $DL/1 link)" = "$before" ]
}

test_cleanup() {
	rdevsim_unload
}

ktap_print_header
rdevsim_test_start ynl
ktap_set_plan 11
ktap_test_result "instance $ID, two ports" test_setup
ktap_test_result "show: every reporter, ports' included" test_show_all
ktap_test_result "recover on every kind" test_recover
ktap_test_result "test: EOPNOTSUPP without the op" test_test
ktap_test_result "diagnose on every kind" test_diagnose
ktap_test_result "dump show and dump clear on every kind, dump time" test_dump_show_clear
ktap_test_result "set: every attribute, EOPNOTSUPP without the op" test_set
ktap_test_result "bad requests: refused, nothing changed" test_bad_requests
ktap_test_result "bad port knob writes refused, stored dump intact" test_bad_port_knobs
ktap_test_result "unprivileged: show only" test_unprivileged
ktap_test_result "clean up" test_cleanup
ktap_finished
