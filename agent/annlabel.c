/*
 * annlabel.c — label sets: the table that names every (parent set, key, value) chain a
 * thread pushed with one small id, and the stacks that carry a set (ann.h).
 *
 * The table only grows: static arrays (no malloc, so the program's label pushes are
 * async-signal-safe and work before the constructor and after exit), a node slot and its
 * string bytes claimed by an atomic add, linked into a hash bucket by a compare-and-swap
 * on the bucket's head. Two threads interning the same chain at once may get two ids for
 * it; both carry the same labels, so profiles are unaffected. A full table (CT_ANN_SETS
 * sets or CT_ANN_ARENA string bytes: far more distinct label values than a profile can
 * show) refuses new sets, which the caller counts.
 *
 * Region names are interned in the same table (ct_ann_name_intern: a node under the
 * parent NAME_PARENT with an empty key), so that a region's begin record carries an id;
 * NAMES_MAX of them at most.
 *
 * A push usually repeats an earlier one (an endpoint, a tenant), so each thread keeps a
 * small cache from (parent, key pointer, value pointer) to the id, checked against the
 * interned strings (the program may reuse its buffer for another value) unless both are
 * literals (in a read-only segment of an object loaded at start: they cannot change).
 */
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/ann.h"
#include "agent/annring.h"
#include "agent/hot.h"

enum { CT_ANN_SETS = 16384, CT_ANN_BUCKETS = 4096, CT_ANN_ARENA = 1 << 20, CACHE = 8 };
_Static_assert(CT_ANN_SETS < CT_ANN_ID_LIMIT, "every id fits a ring record (annring.h)");
#define NAME_PARENT UINT32_MAX /* the parent of a region name's node: no set has it */
/* Region names interned at most: a program that names regions after request ids must not
 * starve its labels (later names take the shared rings with their string, annotate.c). */
#define NAMES_MAX 2048u
static _Atomic uint32_t names_made; /* relaxed: a bound, not a count anyone reads */

typedef struct {
	uint32_t parent;
	uint32_t hash;
	const char *key, *value; /* in the arena, NUL-terminated */
	_Atomic uint32_t next;	 /* bucket chain: id of the next node, 0 ends it */
} set_node;

/* nodes[id - 1]; a node is published (release) by the CAS that links it, and read after
 * an acquire load of the bucket head or a chain link, or of an id another thread gave. */
static set_node nodes[CT_ANN_SETS];
static _Atomic uint32_t nnodes;
static _Atomic uint32_t buckets[CT_ANN_BUCKETS];
static char arena[CT_ANN_ARENA];
static _Atomic uint32_t arena_used;

typedef struct {
	uint32_t parent, set;
	const char *key, *value;
	uint16_t klen, vlen; /* strlen + 1 of each: the bytes the hit compares */
	uint32_t constant;   /* both strings lie in read-only segments: no compare */
} cache_entry;
static __thread cache_entry tls_cache[CACHE];

/* The read-only segments of the objects loaded at start-up (string literals live there),
 * taken by the constructor (ct_ann_const_snapshot). Such objects are never unloaded (they
 * are the program's dependencies), so a string there cannot change under a cached
 * pointer. Published by the release store of nconst; read with acquire. */
enum { CONST_MAX = 256 };
static struct {
	uintptr_t lo, hi;
} consts[CONST_MAX];
static _Atomic int nconst;

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	int *n = arg;
	for (int k = 0; k < info->dlpi_phnum && *n < CONST_MAX; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W) && ph->p_memsz) {
			consts[*n].lo = info->dlpi_addr + ph->p_vaddr;
			consts[*n].hi = consts[*n].lo + ph->p_memsz;
			(*n)++;
		}
	}
	return 0;
}

void ct_ann_const_snapshot(void)
{
	if (atomic_load_explicit(&nconst, memory_order_relaxed))
		return; /* a forked child keeps its parent's (the same objects) */
	int n = 0;
	dl_iterate_phdr(on_object, &n);
	atomic_store_explicit(&nconst, n, memory_order_release);
}

/* Whether [s, s + n) lies in one of the snapshot's read-only segments. */
static int constant(const char *s, size_t n)
{
	int k = atomic_load_explicit(&nconst, memory_order_acquire);
	for (int i = 0; i < k; i++)
		if ((uintptr_t)s >= consts[i].lo && (uintptr_t)s + n <= consts[i].hi)
			return 1;
	return 0;
}

int ct_ann_constant(const char *s)
{
	return constant(s, 1) && constant(s, strnlen(s, CT_ANN_NAME_MAX + 1) + 1);
}

static uint32_t hash_str(uint32_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return (h ^ 0xff) * 16777619u;
}

/* Copies n bytes of s NUL-terminated into the arena; NULL when full. */
static const char *arena_copy(const char *s, size_t n)
{
	/* Checked first so that a full arena's counter stops growing (no wrap-around). */
	if (atomic_load_explicit(&arena_used, memory_order_relaxed) > CT_ANN_ARENA - n - 1)
		return NULL;
	uint32_t at = atomic_fetch_add_explicit(&arena_used, (uint32_t)n + 1, memory_order_relaxed);
	if (at > CT_ANN_ARENA - n - 1)
		return NULL;
	memcpy(arena + at, s, n);
	arena[at + n] = 0;
	return arena + at;
}

static int same(const set_node *nd, uint32_t parent, uint32_t h, const char *k, size_t kn,
		const char *v, size_t vn)
{
	return nd->hash == h && nd->parent == parent && strncmp(nd->key, k, kn) == 0 &&
	       !nd->key[kn] && strncmp(nd->value, v, vn) == 0 && !nd->value[vn];
}

/* The node for (parent, k, v): found, or made when the table has room and quota (when
 * not NULL) is below NAMES_MAX. */
static uint32_t intern_slow(uint32_t parent, const char *k, size_t kn, const char *v, size_t vn,
			    _Atomic uint32_t *quota)
{
	uint32_t h = hash_str(hash_str(parent * 2654435761u, k, kn), v, vn);
	_Atomic uint32_t *head = &buckets[h % CT_ANN_BUCKETS];
	for (uint32_t id = atomic_load_explicit(head, memory_order_acquire); id;
	     id = atomic_load_explicit(&nodes[id - 1].next, memory_order_acquire))
		if (same(&nodes[id - 1], parent, h, k, kn, v, vn))
			return id;
	/* A full table stays full without its counter growing further (it never wraps: at
	 * most one increment per racing thread gets past this check). */
	if (atomic_load_explicit(&nnodes, memory_order_relaxed) >= CT_ANN_SETS)
		return 0;
	if (quota && (atomic_load_explicit(quota, memory_order_relaxed) >= NAMES_MAX ||
		      atomic_fetch_add_explicit(quota, 1, memory_order_relaxed) >= NAMES_MAX))
		return 0;
	uint32_t slot = atomic_fetch_add_explicit(&nnodes, 1, memory_order_relaxed);
	if (slot >= CT_ANN_SETS)
		return 0;
	set_node *nd = &nodes[slot];
	nd->key = arena_copy(k, kn);
	nd->value = nd->key ? arena_copy(v, vn) : NULL;
	if (!nd->value) {
		atomic_store_explicit(&nnodes, CT_ANN_SETS,
				      memory_order_relaxed); /* full for good */
		return 0;
	}
	nd->parent = parent;
	nd->hash = h;
	uint32_t old = atomic_load_explicit(head, memory_order_relaxed);
	do
		atomic_store_explicit(&nd->next, old, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(head, &old, slot + 1, memory_order_release,
						      memory_order_relaxed));
	return slot + 1;
}

static inline int same8(const char *a, const char *b)
{
	uint64_t x, y;
	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	return x == y;
}

static inline int same4(const char *a, const char *b)
{
	uint32_t x, y;
	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	return x == y;
}

/* Whether the program's string s (at the pointer a cache hit matched) still holds the n
 * bytes (NUL included) of our copy mine: word compares that read exactly n bytes of each,
 * the last one overlapping; strcmp when s's n bytes would cross a page (s itself is the
 * program's, the rest of its page is mapped) or are fewer than 4. About half the cost of
 * two strcmp calls on a label push. */
static inline __attribute__((always_inline)) int still(const char *mine, const char *s, uint32_t n)
{
	if (__builtin_expect(((uintptr_t)s & 4095) + n > 4096 || n < 4, 0))
		return strcmp(mine, s) == 0;
	if (n < 8)
		return same4(mine, s) && same4(mine + n - 4, s + n - 4);
	for (uint32_t i = 0; i + 8 < n; i += 8)
		if (!same8(mine + i, s + i))
			return 0;
	return same8(mine + n - 8, s + n - 8);
}

static uint32_t intern(uint32_t parent, const char *key, const char *value, int *truncated,
		       _Atomic uint32_t *quota)
{
	uintptr_t mix = ((uintptr_t)key >> 3) ^ ((uintptr_t)value >> 5) ^ parent;
	cache_entry *c = &tls_cache[(mix ^ (mix >> 7)) % CACHE];
	if (c->set && c->key == key && c->value == value && c->parent == parent) {
		const set_node *nd = &nodes[c->set - 1];
		if (c->constant ||
		    (still(nd->key, key, c->klen) && still(nd->value, value, c->vlen)))
			return c->set;
	}
	size_t kn = strnlen(key, CT_ANN_KEY_MAX + 1), vn = strnlen(value, CT_ANN_VALUE_MAX + 1);
	if (kn > CT_ANN_KEY_MAX || vn > CT_ANN_VALUE_MAX) {
		*truncated = 1;
		kn = kn > CT_ANN_KEY_MAX ? CT_ANN_KEY_MAX : kn;
		vn = vn > CT_ANN_VALUE_MAX ? CT_ANN_VALUE_MAX : vn;
	}
	uint32_t id = intern_slow(parent, key, kn, value, vn, quota);
	if (id && !*truncated)
		*c = (cache_entry){.parent = parent,
				   .set = id,
				   .key = key,
				   .value = value,
				   .klen = (uint16_t)(kn + 1),
				   .vlen = (uint16_t)(vn + 1),
				   .constant = constant(key, kn + 1) && constant(value, vn + 1)};
	return id;
}

uint32_t ct_ann_set_intern(uint32_t parent, const char *key, const char *value, int *truncated)
{
	return intern(parent, key, value, truncated, NULL);
}

uint32_t ct_ann_name_intern(const char *name, int *truncated)
{
	return intern(NAME_PARENT, "", name, truncated, &names_made);
}

const char *ct_ann_name(uint32_t id)
{
	/* Acquire: the node behind an id below nnodes is filled (its slot was claimed, and
	 * the id the caller holds came from the CAS that published it). */
	if (!id || id > atomic_load_explicit(&nnodes, memory_order_acquire) || id > CT_ANN_SETS)
		return NULL;
	const set_node *nd = &nodes[id - 1];
	return nd->parent == NAME_PARENT ? nd->value : NULL;
}

uint32_t ct_ann_set_labels(uint32_t set, ct_label *out, uint32_t max)
{
	uint32_t n = 0;
	uint32_t limit = atomic_load_explicit(&nnodes, memory_order_acquire);
	for (int hops = 0; set && set <= limit && set <= CT_ANN_SETS && hops < 4 * CT_ANN_DEPTH;
	     hops++) {
		const set_node *nd = &nodes[set - 1];
		uint32_t i = 0;
		while (i < n && strcmp(out[i].key, nd->key) != 0)
			i++;
		if (i == n && n < max)
			out[n++] = (ct_label){.key = nd->key, .str = nd->value};
		set = nd->parent;
	}
	return n;
}

uint32_t ct_ann_stack_with(uint32_t stack, uint32_t set)
{
	if (!stack || !set)
		return stack;
	const uintptr_t *pcs;
	int n = ct_stack_get(stack, &pcs);
	if (n <= 0 || n > CT_MAX_FRAMES + 1)
		return stack;
	uintptr_t buf[CT_MAX_FRAMES + 2];
	memcpy(buf, pcs, (size_t)n * sizeof(uintptr_t));
	buf[n] = (uintptr_t)(CT_ANN_MARK | set);
	uint32_t id = ct_stack_intern(buf, n + 1);
	return id ? id : stack;
}

CT_HOT_FN uint32_t ct_ann_stack(uint32_t stack)
{
	uint32_t set = ct_ann_current();
	return set ? ct_ann_stack_with(stack, set) : stack;
}
