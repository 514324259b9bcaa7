/*
 * ctrace/annotate.h — annotations a program adds to its own profile and trace: labels on
 * samples, regions, tasks and log messages. Header-only; links nothing.
 *
 * When the program runs under ctrace (`ctrace record`, or LD_PRELOAD=libctrace.so), the
 * agent exports one table of entry points (ctrace_annotate_v1); this header looks it up
 * once per translation unit with dlsym(RTLD_DEFAULT, ...) — in a constructor, and again
 * lazily if a function runs before that constructor — and caches it in a static. Without
 * the agent every call is one load and one predictable branch, and does nothing.
 *
 *   ctrace_label_push(key, value) / ctrace_label_pop()
 *       Thread-local profile labels, like Go's pprof.Do: every CPU sample, sampled
 *       allocation, mutex and block record taken on this thread while pushed carries them
 *       as pprof labels (`go tool pprof -tags`, `-tagfocus`, `ctrace report --tag K=V`).
 *       Pushing a key already pushed shadows its value until the pop. The strings are
 *       copied; they may change after the call.
 *   ctrace_region_begin(name) / ctrace_region_end()
 *       A named region of this thread's time in the trace, nesting allowed; end closes the
 *       innermost. CTRACE_REGION(name) opens one until the end of the enclosing scope (C:
 *       __attribute__((cleanup)), C++: an RAII object, also available as ctrace::Region).
 *   ctrace_task_begin(name) -> id, ctrace_task_end(id), ctrace_task_region_begin(id, name)
 *       A logical operation that may hop threads (a request an acceptor hands to a worker);
 *       regions opened with ctrace_task_region_begin belong to it (close them with
 *       ctrace_region_end). Ids are never 0 under the agent; without it task_begin
 *       returns 0 and the other calls ignore it.
 *   ctrace_log(category, fmt, ...)
 *       An instant event with a printf-formatted message (at most 1 KiB) in the trace.
 *
 * Safety: every call is thread-safe and never blocks. Labels, regions and tasks are
 * async-signal-safe once this header's lookup has run (its constructor runs it at load);
 * ctrace_log formats with vsnprintf and is not. Misuse — a pop or end without a push or
 * begin, an unknown or twice-ended task id, NULL or very long names (truncated to 128
 * bytes; label keys to 64), nesting deeper than 64, calls from a signal handler that
 * interrupted another annotation call of the same thread — is ignored or truncated,
 * counted, and reported once in the recording's summary.txt; it never hurts the program.
 *
 * Compiles as C99, C11 and C++11 with -Wall -Wextra -Werror (GCC and Clang).
 */
#ifndef CTRACE_ANNOTATE_H
#define CTRACE_ANNOTATE_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>

#ifndef RTLD_DEFAULT /* glibc declares it only under _GNU_SOURCE; its value is fixed */
#define RTLD_DEFAULT ((void *)0)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The agent's table of entry points (the ABI between this header and libctrace.so).
 * Append-only: a newer agent may have more members; size says how many bytes it has. */
struct ctrace_annotate_api {
	uint32_t version; /* 1 */
	uint32_t size;	  /* sizeof the agent's table */
	void (*label_push)(const char *key, const char *value);
	void (*label_pop)(void);
	void (*region_begin)(uint64_t task, const char *name);
	void (*region_end)(void);
	uint64_t (*task_begin)(const char *name);
	void (*task_end)(uint64_t task);
	void (*logv)(const char *category, const char *fmt, va_list ap);
};

#define CTRACE_ANNOTATE_SYMBOL "ctrace_annotate_v1"

/* An ELF note in every object that includes this header (4 bytes in a note segment): the
 * agent looks for it at start-up to know that the program's labels are worth reading at
 * each CPU sample (docs/annotate.md). CTRACE_ANNOTATE_NO_NOTE leaves it out. */
#define CTRACE_ANNOTATE_NOTE_NAME "ctrace"
#define CTRACE_ANNOTATE_NOTE_TYPE 1
#if defined(__ELF__) && !defined(CTRACE_ANNOTATE_ABI_ONLY) && !defined(CTRACE_ANNOTATE_NO_NOTE)
__asm__(".pushsection .note.ctrace,\"a\",%note\n\t.balign 4\n\t.long 7\n\t.long 4\n\t"
	".long 1\n\t.asciz \"ctrace\"\n\t.balign 4\n\t.long 1\n\t.popsection");
#endif

/* The agent itself includes only the table (CTRACE_ANNOTATE_ABI_ONLY). */
#ifndef CTRACE_ANNOTATE_ABI_ONLY

/* Per translation unit: the agent's table (NULL without it) and whether it was looked up.
 * Relaxed atomics: racing threads look up the same value. */
static const struct ctrace_annotate_api *ctrace__api_table;
static int ctrace__api_looked;

static inline const struct ctrace_annotate_api *ctrace__api_lookup(void)
{
	const struct ctrace_annotate_api *a =
		(const struct ctrace_annotate_api *)dlsym(RTLD_DEFAULT, CTRACE_ANNOTATE_SYMBOL);
	if (a && (a->version != 1 || a->size < sizeof(*a)))
		a = 0;
	__atomic_store_n(&ctrace__api_table, a, __ATOMIC_RELAXED);
	__atomic_store_n(&ctrace__api_looked, 1, __ATOMIC_RELAXED);
	return a;
}

__attribute__((constructor, unused)) static void ctrace__api_init(void)
{
	ctrace__api_lookup();
}

/* The table, or NULL when the agent is not loaded: one load and a predictable branch. */
static inline const struct ctrace_annotate_api *ctrace__api(void)
{
	const struct ctrace_annotate_api *a = __atomic_load_n(&ctrace__api_table, __ATOMIC_RELAXED);
	if (__builtin_expect(a != 0, 1))
		return a;
	if (__builtin_expect(__atomic_load_n(&ctrace__api_looked, __ATOMIC_RELAXED), 1))
		return 0;
	return ctrace__api_lookup();
}

static inline void ctrace_label_push(const char *key, const char *value)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	if (a)
		a->label_push(key, value);
}

static inline void ctrace_label_pop(void)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	if (a)
		a->label_pop();
}

static inline void ctrace_region_begin(const char *name)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	if (a)
		a->region_begin(0, name);
}

static inline void ctrace_task_region_begin(uint64_t task, const char *name)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	if (a)
		a->region_begin(task, name);
}

static inline void ctrace_region_end(void)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	if (a)
		a->region_end();
}

static inline uint64_t ctrace_task_begin(const char *name)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	return a ? a->task_begin(name) : 0;
}

static inline void ctrace_task_end(uint64_t task)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	if (a)
		a->task_end(task);
}

__attribute__((format(printf, 2, 3), unused)) static void ctrace_log(const char *category,
								     const char *fmt, ...)
{
	const struct ctrace_annotate_api *a = ctrace__api();
	if (!a)
		return;
	va_list ap;
	va_start(ap, fmt);
	a->logv(category, fmt, ap);
	va_end(ap);
}

/* CTRACE_REGION's cleanup (C). */
static inline void ctrace__region_cleanup(int *unused)
{
	(void)unused;
	ctrace_region_end();
}

#endif /* CTRACE_ANNOTATE_ABI_ONLY */

#ifdef __cplusplus
}
#endif

#if defined(__cplusplus) && !defined(CTRACE_ANNOTATE_ABI_ONLY)
namespace ctrace
{
/* A region from construction to destruction. */
class Region
{
      public:
	explicit Region(const char *name) { ctrace_region_begin(name); }
	Region(uint64_t task, const char *name) { ctrace_task_region_begin(task, name); }
	~Region() { ctrace_region_end(); }
	Region(const Region &) = delete;
	Region &operator=(const Region &) = delete;
};

/* A label from construction to destruction. */
class Label
{
      public:
	Label(const char *key, const char *value) { ctrace_label_push(key, value); }
	~Label() { ctrace_label_pop(); }
	Label(const Label &) = delete;
	Label &operator=(const Label &) = delete;
};
} // namespace ctrace

#define CTRACE__CAT2(a, b) a##b
#define CTRACE__CAT(a, b) CTRACE__CAT2(a, b)
#define CTRACE_REGION(name) ::ctrace::Region CTRACE__CAT(ctrace__region_, __LINE__)(name)
#elif !defined(CTRACE_ANNOTATE_ABI_ONLY)
#define CTRACE__CAT2(a, b) a##b
#define CTRACE__CAT(a, b) CTRACE__CAT2(a, b)
/* Opens region name until the end of the enclosing scope. */
#define CTRACE_REGION(name)                                                                        \
	__attribute__((cleanup(ctrace__region_cleanup), unused)) int CTRACE__CAT(                  \
		ctrace__region_, __LINE__) = (ctrace_region_begin(name), 0)
#endif

#endif
