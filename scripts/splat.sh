#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Kernel splats: reads a kernel log on stdin, prints each line that starts a
# splat (without its timestamp) and exits 1 when there is one.
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
	'self-detected stall' 'detected stalls' 'Bad page state' ': DMA-API: '
	'DMA-API: debugging out of memory'
	'unregister_netdevice: waiting for' 'stalled pool shutdown'
)
PATTERN="(^|[^a-zA-Z])($(IFS='|'; echo "${SPLATS[*]}"))"

sed -e 's/^\[[ 0-9.]*\] //' | grep -E "$PATTERN" && exit 1
exit 0
