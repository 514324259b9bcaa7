/*
 * stackcache.c — the per-thread cache of hook stacks (model and proof in stackcache.h).
 *
 * An entry is a candidate (n == 0: the key and a stack id it gave) until the key gives
 * that stack again; then one cursor walk learns the slot of every frame and the entry is
 * valid (n frames, gaps between consecutive slots in words). The cache is 4-way set
 * associative, and entries of one set may share a key: the same function at the same
 * depth reached from different callers is one key with several stacks, and a hit is the
 * entry whose slots still hold its chain. The cursor functions come from the same privately
 * loaded libunwind.so.8 as unw_backtrace (stack.c), through pointers, for the reasons
 * given there.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "agent/forkguard.h"
#include "agent/hot.h"
#include "agent/internal.h"
#include "agent/stackcache.h"

#define SET_BITS 6
#define SETS (1 << SET_BITS) /* sets per thread */
#define WAYS 4		     /* entries per set */
#define DEPTH 64	     /* deepest stack an entry holds */
#define HITS_FLUSH 1024	     /* hits counted per thread before they reach the global count */

#define INLINE 16 /* frames whose return addresses an entry keeps itself */
typedef struct {
	uintptr_t ra, slot;	 /* the key */
	uint32_t id;		 /* the stack it gave (candidate) or gives (valid) */
	uint16_t n;		 /* frames, 0 while a candidate */
	uint16_t gap[DEPTH - 1]; /* slot[i + 1] - slot[i], in words */
	/* The stack's return addresses when n <= INLINE: a hit then compares the slots with
	 * these, without reading the shared stack table (after the hook's system call, its
	 * pages are as cold as the rest of the agent's). */
	uintptr_t pc[INLINE];
} entry;

typedef struct {
	entry e[SETS][WAYS];
	uint8_t victim[SETS]; /* the way the next new entry of a set replaces */
} cache;

/* Set by ct_stackcache_init (constructor, before recording starts); read-only afterwards. */
static int (*getcontext_fn)(unw_context_t *);
static int (*init_local_fn)(unw_cursor_t *, unw_context_t *);
static int (*step_fn)(unw_cursor_t *);
static int (*get_reg_fn)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
static int verify CT_HOT_DATA; /* read by every capture: on the hooks' hot page (hot.h) */
static pthread_key_t cache_key;
static int enabled CT_HOT_DATA;

/* Added to by every thread at its exit, read at exit for the profile's comment: relaxed. */
static _Atomic uint64_t total_hits, total_walks, total_mismatches, total_front;

/* A copy of a valid entry of at most FRONT_DEPTH frames, kept in the thread's TLS. */
#define FRONT_DEPTH 8
#define FRONTS 2
typedef struct {
	uintptr_t ra, slot; /* the key; ra 0 = empty */
	uint32_t id;
	uint16_t n;
	uint16_t gap[FRONT_DEPTH - 1];
	uintptr_t pc[FRONT_DEPTH];
} front;

/* The thread's own cache and its counts, in TLS: a hit then touches its entry's page and
 * no other (the counts were at the end of the 70 KiB cache, a page of their own). The
 * fronts are copies of the entries of the last two short chains the waits' captures
 * (ct_stackcache_capture_front) found: after the hook's system call the cache's page is
 * one more page walk (perf annotate of redis-server: three quarters of a recorded wait's
 * capture), and the TLS lies beside the thread pointer, whose page libc touches anyway. */
typedef struct {
	cache *c;
	uint64_t hits, walks, unflushed, front_unflushed;
	front f[FRONTS];
	uint32_t next_front; /* the front a new copy replaces */
} sc_tls_t;
static __thread sc_tls_t tls_sc;
/* tls_sc's offset from the thread pointer, on the hot page (hot.h: no GOT load on a
 * capture); 0 until ct_stackcache_init. */
static intptr_t tls_sc_off CT_HOT_DATA;

static inline sc_tls_t *sc_me(void)
{
	intptr_t off = __atomic_load_n(&tls_sc_off, __ATOMIC_RELAXED);
	return __builtin_expect(off != 0, 1) ? (sc_tls_t *)ct_tls_at(off) : &tls_sc;
}
static __thread int tls_cache_failed;

/* Thread exit (a key destructor). Allocations in later destructors just unwind: the
 * thread does not get a new cache. */
static void cache_gone(void *p)
{
	cache *c = p;
	sc_tls_t *me = sc_me();
	atomic_fetch_add_explicit(&total_hits, me->unflushed, memory_order_relaxed);
	atomic_fetch_add_explicit(&total_front, me->front_unflushed, memory_order_relaxed);
	me->unflushed = me->front_unflushed = 0;
	if (me->c == c)
		me->c = NULL;
	tls_cache_failed = 1;
	munmap(c, sizeof *c);
}

static void init_once(void)
{
	static int done; /* the heap and the lock sources both ask (constructors) */
	if (done++)
		return;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	*(void **)&getcontext_fn = dlsym(h, "_Ux86_64_getcontext");
	*(void **)&init_local_fn = dlsym(h, "_ULx86_64_init_local");
	*(void **)&step_fn = dlsym(h, "_ULx86_64_step");
	*(void **)&get_reg_fn = dlsym(h, "_ULx86_64_get_reg");
	const char *v = getenv("CTRACE_STACK_VERIFY");
	verify = v && *v && strcmp(v, "0") != 0;
	enabled = getcontext_fn && init_local_fn && step_fn && get_reg_fn &&
		  pthread_key_create(&cache_key, cache_gone) == 0;
	__atomic_store_n(&tls_sc_off, ct_tls_offset(&tls_sc), __ATOMIC_RELAXED);
}

void ct_stackcache_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_once);
}

void ct_stackcache_stats(ct_stackcache_stats_t *st)
{
	st->hits = atomic_load_explicit(&total_hits, memory_order_relaxed);
	st->walks = atomic_load_explicit(&total_walks, memory_order_relaxed);
	st->mismatches = atomic_load_explicit(&total_mismatches, memory_order_relaxed);
	st->front = atomic_load_explicit(&total_front, memory_order_relaxed);
	/* With the calling thread's counts not flushed yet (the main thread's, at exit). */
	const sc_tls_t *me = sc_me();
	st->hits += me->unflushed;
	st->front += me->front_unflushed;
}

static cache *get_cache(sc_tls_t *me)
{
	if (__builtin_expect(me->c != NULL, 1))
		return me->c;
	if (tls_cache_failed || !enabled)
		return NULL;
	int saved = errno;
	void *m = mmap(NULL, sizeof(cache), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (m == MAP_FAILED || pthread_setspecific(cache_key, m) != 0) {
		if (m != MAP_FAILED)
			munmap(m, sizeof(cache));
		tls_cache_failed = 1;
		m = NULL;
	}
	errno = saved;
	me->c = m;
	return m;
}

/* The full unwind: the stack from ra outward, interned. Preserves errno (libunwind makes
 * system calls). */
static uint32_t unwind(uintptr_t ra)
{
	int saved = errno;
	uintptr_t pcs[CT_MAX_FRAMES + 4];
	int n = ct_capture_stack(pcs, CT_MAX_FRAMES + 4, 0);
	errno = saved;
	int k = 0;
	while (k < n && pcs[k] != ra)
		k++;
	if (k == n) /* the hook's frame was not found: keep what the unwinder saw */
		k = 0;
	n -= k;
	return ct_stack_intern(pcs + k, n > CT_MAX_FRAMES ? CT_MAX_FRAMES : n);
}

/* Whether the stack still holds the chain of n frames whose first slot is slot: every
 * return address pcs[i] in its slot, gap[i - 1] words above the one before. Every slot
 * lies between slot and the thread's stack top (checked when learned). */
static inline __attribute__((always_inline)) bool
chain_there(uintptr_t slot, int n, const uint16_t *gap, const uintptr_t *pcs)
{
	uintptr_t s = slot;
	for (int i = 1; i < n; i++) {
		s += (uintptr_t)gap[i - 1] * sizeof(uintptr_t);
		if (*(const uintptr_t *)s != pcs[i])
			return false;
	}
	return true;
}

/* Whether the stack still holds e's chain. */
static bool still_there(const entry *e)
{
	const uintptr_t *pcs = e->pc;
	if (e->n > INLINE && ct_stack_get(e->id, &pcs) != e->n)
		return false;
	return chain_there(e->slot, e->n, e->gap, pcs);
}

/* Learns e's slots with a cursor walk from here: the frame whose pc is ra and whose stack
 * pointer is slot + 8 is the hook's caller; from there every frame must be the cached
 * stack's, with its return address stored just below its stack pointer, inside this
 * thread's stack. 0, or -1 when the chain cannot be cached. */
static __attribute__((noinline)) int learn(entry *e, uintptr_t ra, uintptr_t slot)
{
	const uintptr_t *pcs;
	int n = ct_stack_get(e->id, &pcs);
	/* Only chains on the thread's own stack: an alternate signal stack may go away. */
	ct_stack_bounds();
	uintptr_t top = ct_tls_stack_top, lo = ct_tls_stack_lo;
	if (n < 1 || n > DEPTH || pcs[0] != ra || !top || slot < lo || slot >= top)
		return -1;
	unw_context_t uc;
	unw_cursor_t cur;
	if (getcontext_fn(&uc) < 0 || init_local_fn(&cur, &uc) < 0)
		return -1;
	int i = -1;
	uintptr_t prev = 0;
	for (int steps = 0; steps < CT_MAX_FRAMES + 16 && i + 1 < n; steps++) {
		unw_word_t ip, sp;
		if (step_fn(&cur) <= 0 || get_reg_fn(&cur, UNW_REG_IP, &ip) < 0 ||
		    get_reg_fn(&cur, UNW_REG_SP, &sp) < 0)
			return -1;
		uintptr_t s = (uintptr_t)sp - sizeof(uintptr_t);
		if (i < 0) {
			if (ip != ra || s != slot)
				continue;
			i = 0;
			prev = s;
			continue;
		}
		i++;
		if (ip != pcs[i] || s <= prev || s >= top || (s - prev) % sizeof(uintptr_t) ||
		    (s - prev) / sizeof(uintptr_t) > UINT16_MAX || *(const uintptr_t *)s != ip)
			return -1;
		e->gap[i - 1] = (uint16_t)((s - prev) / sizeof(uintptr_t));
		prev = s;
	}
	if (i + 1 != n)
		return -1;
	if (n <= INLINE)
		memcpy(e->pc, pcs, (size_t)n * sizeof(uintptr_t));
	e->n = (uint16_t)n;
	return 0;
}

/* Counts a hit (me's counts, flushed to the global ones every HITS_FLUSH hits) and checks
 * it against a full unwind under CTRACE_STACK_VERIFY. */
static inline __attribute__((always_inline)) uint32_t hit(sc_tls_t *me, uintptr_t ra, uint32_t id,
							  int from_front)
{
	me->front_unflushed += (uint64_t)from_front;
	/* Two scalar adds: gcc made them one vector add of a constant pair from .rodata, a
	 * page of its own — nearly half of a capture's samples after a system call. */
	__asm__("" : : : "memory");
	if (++me->unflushed == HITS_FLUSH) {
		atomic_fetch_add_explicit(&total_hits, HITS_FLUSH, memory_order_relaxed);
		atomic_fetch_add_explicit(&total_front, me->front_unflushed, memory_order_relaxed);
		me->unflushed = me->front_unflushed = 0;
	}
	me->hits++;
	if (verify && unwind(ra) != id)
		atomic_fetch_add_explicit(&total_mismatches, 1, memory_order_relaxed);
	return id;
}

/* The cache's lookup (keep_front: a hit's entry of at most FRONT_DEPTH frames is copied
 * to a front). Near its callers (hot.h), after the every-wait paths: a front's hit does
 * not come here. */
static CT_WARM_LATE_FN uint32_t capture(sc_tls_t *me, uintptr_t ra, uintptr_t slot, int keep_front)
{
	cache *c = get_cache(me);
	if (!c)
		return unwind(ra);
	uint64_t h = ((uint64_t)ra ^ ((uint64_t)slot << 17)) * 0x9E3779B97F4A7C15ULL;
	size_t set = (size_t)(h >> (64 - SET_BITS));
	entry *ways = c->e[set];
	for (int w = 0; w < WAYS; w++) {
		entry *e = &ways[w];
		if (e->ra != ra || e->slot != slot || !e->n || !still_there(e))
			continue;
		if (keep_front && e->n <= FRONT_DEPTH) {
			front *f = &me->f[me->next_front++ % FRONTS];
			f->ra = ra;
			f->slot = slot;
			f->id = e->id;
			f->n = e->n;
			memcpy(f->gap, e->gap, sizeof(f->gap));
			memcpy(f->pc, e->pc, sizeof(f->pc));
		}
		return hit(me, ra, e->id, 0);
	}
	/* Too little stack left to unwind in (unwind's and ct_capture_stack's frames come
	 * first): the call site alone, and nothing cached. */
	if (!ct_stack_room(CT_UNWIND_ROOM + 4096))
		return ct_stack_intern(&ra, 1);
	uint32_t id = unwind(ra);
	if (!id)
		return 0;
	for (int w = 0; w < WAYS; w++) {
		entry *e = &ways[w];
		if (e->ra != ra || e->slot != slot || e->id != id)
			continue;
		/* Seen before with this stack: learn its slots, within the walk budget. A valid
		 * entry here whose chain was not found above is stale: learn it again. */
		if (me->walks < 64 + me->hits / 64 && ct_forkguard_try_enter()) {
			/* libunwind's locks must not cross a fork: none is learned during one */
			me->walks++;
			atomic_fetch_add_explicit(&total_walks, 1, memory_order_relaxed);
			e->n = 0;
			int saved = errno;
			/* libunwind's TLS may be updated, and pthread_getattr_np (the thread's
			 * stack bounds, at its first learn) allocates: stack.c. */
			ct_heap_divert_t d = ct_heap_divert_begin();
			int learned = learn(e, ra, slot);
			ct_heap_divert_end(d);
			ct_forkguard_exit();
			errno = saved;
			if (learned < 0)
				e->n = 0;
		}
		return id;
	}
	/* New (key, stack): a candidate, in the set's next way. */
	entry *e = &ways[c->victim[set]];
	c->victim[set] = (uint8_t)((c->victim[set] + 1) % WAYS);
	e->ra = ra;
	e->slot = slot;
	e->id = id;
	e->n = 0;
	return id;
}

CT_WARM_FN uint32_t ct_stackcache_capture(uintptr_t ra, uintptr_t slot)
{
	return capture(sc_me(), ra, slot, 0);
}

CT_HOT_FN uint32_t ct_stackcache_capture_front(uintptr_t ra, uintptr_t slot)
{
	sc_tls_t *me = sc_me();
	for (int k = 0; k < FRONTS; k++) {
		const front *f = &me->f[k];
		if (f->ra == ra && f->slot == slot && chain_there(slot, f->n, f->gap, f->pc))
			return hit(me, ra, f->id, 1);
	}
	return capture(me, ra, slot, 1);
}
