# test_hot_layout — the hooks' thread-local data lies on the page of the thread's control
# block (agent/hot.h, docs/agent.md "Hot pages"): on these VMs every system call empties
# the TLB, and a hook whose TLS sat on the page below paid a page walk for its first touch
# after each one. A thread created by pthread_create looks up the agent's TLS block
# (dl_iterate_phdr) and its thread pointer; the hot objects' offsets come from the
# library's symbol table. Also: the warm text starts a page of its own.
. "$CT_ROOT/tests/integration/lib.sh"

AGENT=$CT_BUILD/lib/libctrace.so
command -v readelf > /dev/null || fail "readelf (binutils) is needed"

cat > "$TMP/tp.c" <<'C'
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
static int found(struct dl_phdr_info *i, size_t size, void *arg)
{
	(void)size, (void)arg;
	char *tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	if (i->dlpi_tls_data && strstr(i->dlpi_name, "libctrace.so"))
		printf("%lu %ld\n", (unsigned long)tp & 4095, (long)(tp - (char *)i->dlpi_tls_data));
	return 0;
}
static void *thread(void *arg)
{
	dl_iterate_phdr(found, arg);
	return NULL;
}
int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);
	return 0;
}
C
[ "$(uname -m)" = x86_64 ] || { ok "skipped: the probe reads x86-64's thread pointer"; exit 0; }
${CC:-cc} -O1 -pthread -o "$TMP/tp" "$TMP/tp.c" || fail "cannot build the probe"

# "into-page below": how far into its page the thread pointer is, and how far below it
# the agent's TLS block starts.
read -r into below <<EOF
$(CTRACE_OUT="$TMP/out" LD_PRELOAD="$AGENT" "$TMP/tp")
EOF
[ -n "${below:-}" ] || fail "the probe found no TLS block of the agent"

# No initialized TLS: .tdata lies at the block's far end from the thread pointer.
filesz=$(readelf -lW "$AGENT" | awk '$1 == "TLS" { print $5 }')
[ "$((filesz))" -eq 0 ] || fail "the agent has $((filesz)) bytes of initialized TLS (.tdata)"

for sym in tls_countdown_not wr_tls ct_lk_unsettled tls_sc hr_tls ct_tls_guard; do
	line=$(readelf -sW "$AGENT" | awk -v s="$sym" '$4 == "TLS" && $8 == s { print $2, $3 }')
	[ -n "$line" ] || fail "no TLS symbol $sym"
	set -- $line
	off=$((0x$1)) size=$(($2))
	# Its lowest byte's distance below the thread pointer: within the page's first part.
	dist=$((below - off))
	[ "$dist" -le "$into" ] ||
		fail "$sym ($size bytes at +$off) lies $dist bytes below the thread pointer, off its page ($into bytes into it)"
done
ok "the hooks' TLS is on the thread control block's page ($into bytes into it; the block starts $below below)"

warm=$(readelf -SW "$AGENT" | awk '{ for (i = 1; i < NF; i++) if ($i == "ct_text_warm") print $(i + 2) }')
[ -n "$warm" ] && [ $((0x$warm % 4096)) -eq 0 ] || fail "ct_text_warm at 0x$warm: not a page's start"
ok "the warm text starts a page (0x$warm)"

# An event loop's every-request cycle — the allocator hooks, read, write, epoll_wait, and a
# deferred readiness wait's opening (ct_lk_poll_defer, its entry stack from the thread's
# fronts) and end (ct_lk_settle_slow, ct_lk_wait_end) — lies on the one hot text page:
# each further page is a page walk after the system call before it.
read -r hot hotsz <<EOF2
$(readelf -SW "$AGENT" | awk '{ for (i = 1; i < NF; i++) if ($i == "ct_text_hot") print $(i + 2), $(i + 4) }')
EOF2
[ -n "${hot:-}" ] || fail "no ct_text_hot section"
for sym in malloc free calloc malloc_usable_size read write epoll_wait ct_lk_poll_defer \
	wr_entry_stack ct_lk_site_stack ct_stackcache_capture_front ct_ann_stack ct_ann_current \
	ct_lk_settle_slow ct_lk_wait_end; do
	line=$(readelf -sW "$AGENT" | awk -v s="$sym" '$4 == "FUNC" && $8 == s { print $2, $3; exit }')
	[ -n "$line" ] || fail "no function $sym"
	set -- $line
	lo=$((0x$1)) hi=$((0x$1 + $2))
	[ "$lo" -ge $((0x$hot)) ] && [ "$hi" -le $((0x$hot + 0x$hotsz)) ] ||
		fail "$sym (0x$1, $2 bytes) is outside the hot text page (0x$hot, 0x$hotsz bytes)"
done
ok "an event loop's cycle is on the hot text page (0x$hot, $((0x$hotsz)) bytes)"
