#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Kernel splats: reads a kernel log on stdin, prints each line that starts a
# splat (without its timestamp) and exits 1 when there is one:
#   splat.sh [--all] <log
#   splat.sh --pattern     prints the extended regular expression, for a
#                          test that watches the log itself (devlink_fuzz)
#
# These are the first lines of the kernel's own reports: WARN(), BUG(), oops,
# lockdep, KASAN, KFENCE, UBSAN, SLUB debugging, debugobjects, kmemleak,
# might_sleep(), the hung-task and RCU stall detectors (any flavour), refcount
# and list corruption checks, the page allocator's bad page check, DMA API
# debugging, a network device or page pool whose users never let go. 'Call
# Trace' alone catches a dump_stack() from any other.
SPLATS=(
	'BUG:' 'BUG [a-z]' 'WARNING:' 'KASAN:' 'KFENCE:' 'UBSAN:' 'Oops' 'Kernel panic'
	'kernel BUG' 'general protection fault' 'Call Trace' 'Unable to handle kernel'
	'possible circular locking' 'possible recursive locking' 'inconsistent lock state'
	'inconsistent IRQ' 'lock held when returning' 'bad unlock balance'
	'suspicious RCU usage' 'sleeping function called from invalid context'
	'scheduling while atomic' 'unreferenced object' 'ODEBUG:' 'refcount_t:'
	'list_add corruption' 'list_del corruption' 'blocked for more than'
	'self-detected stall' 'detected stalls' 'Bad page state'
	'DMA-API: [^ ]+ [^ ]+: ' 'DMA-API: debugging out of memory'
	'unregister_netdevice: waiting for' 'stalled pool shutdown'
)
PATTERN="(^|[^a-zA-Z])($(IFS='|'; echo "${SPLATS[*]}"))"
if [ "${1:-}" = --pattern ]; then
	echo "$PATTERN"
	exit 0
fi

# One splat is expected: the harness's self test (selftest drivers/rsplat)
# loads src/rsplat, which warns once, between the kernel log lines
# "rdl-test: expect-splat begin" and "rdl-test: expect-splat end". Within a
# closed pair of these markers, the first report of a warning from that
# module (from its "WARNING:" line, which names [rsplat], to its "---[ end
# trace" line) is left out; every other line, there and elsewhere, is
# checked. 'splat.sh --all' leaves nothing out.
expected() {
	awk '
	function flush(i) { for (i = 1; i <= n; i++) print buf[i]; n = 0 }
	/rdl-test: expect-splat begin/ { flush(); win = 1; print; next }
	win && /rdl-test: expect-splat end/ {
		s = e = 0
		for (i = 1; i <= n && !e; i++) {
			if (!s && buf[i] ~ /^WARNING: .*\[rsplat\], CPU#/) s = i
			else if (s && buf[i] ~ /^---\[ end trace /) e = i
		}
		for (i = 1; i <= n; i++)
			if (!e || i < s || i > e) print buf[i]
		n = win = 0
		print
		next
	}
	win { buf[++n] = $0; next }
	{ print }
	END { flush() }'
}

# Between the kernel log lines "rdl-test: expect-alloc-failures begin" and
# "rdl-test: expect-alloc-failures end" (the allocation failure walks of
# selftest drivers/net/devlink_fuzz/devlink_faults.sh), allocations fail on
# purpose, and the kernel reports some of them with a stack dump
# (warn_alloc(): "page allocation failure: order:", "vmalloc error: size"):
# each such report, from that line to the end of its stack ("</TASK>", 80
# lines at most), is left out there. Every other line is checked.
alloc_failures() {
	awk '
	/rdl-test: expect-alloc-failures begin/ { win = 1; print; next }
	/rdl-test: expect-alloc-failures end/ { win = skip = 0; print; next }
	skip { if (/<\/TASK>/) skip = 0; else skip--; next }
	win && /page allocation failure: order:|vmalloc error: size/ { skip = 80; next }
	{ print }'
}

filtered() { expected | alloc_failures; }

filter=filtered
[ "${1:-}" != --all ] || filter="cat"
sed -e 's/^\[[ 0-9.]*\] //' | "$filter" | grep -E "$PATTERN" && exit 1
exit 0
