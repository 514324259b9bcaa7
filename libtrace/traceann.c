/*
 * traceann.c — the annotation events of trace.ctr: writing and decoding their payloads
 * (see traceann.h; layout in docs/trace-format.md, "Annotation events").
 *
 * The writer buffers them as tracewrite.c's fixed-size records (tracewrite_impl.h) with
 * every name interned in the chunk's string table at once, so that encoding at the flush
 * only writes integers: REGION_* keep name in c, task in a, depth in b; TASK its phase in
 * reason, id in a, parent in b, name in c; LOG task in a, message in b, category in c.
 */
#include "traceann.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "libtrace/tracefmt.h"
#include "libtrace/tracewrite_impl.h"

/* ---- writing ------------------------------------------------------------------------------ */

/* Buffers an annotation event of tid: name interned in c, the other fields as given. 0 or
 * -errno. */
static int ann_event(ct_tw *w, uint32_t tid, uint64_t t, uint8_t kind, uint8_t reason,
		     const char *name, uint64_t a, uint64_t b, uint32_t stack)
{
	if (!tid || ct_tw__check_stack(w, stack))
		return -EINVAL;
	uint32_t s = ct_tw__str(w, name ? name : "");
	tw_ev *e = s == UINT32_MAX ? NULL : ct_tw__event(w, tid, t, kind);
	if (!e)
		return -ENOMEM;
	e->reason = reason;
	e->a = a;
	e->b = b;
	e->c = s;
	e->stack = stack;
	return 0;
}

int ct_tw_region_begin(ct_tw *w, uint32_t tid, uint64_t t, const char *name, uint64_t task,
		       uint32_t depth, uint32_t stack)
{
	return ann_event(w, tid, t, CT_EV_REGION_BEGIN, 0, name, task, depth, stack);
}

int ct_tw_region_end(ct_tw *w, uint32_t tid, uint64_t t, const char *name, uint64_t task,
		     uint32_t depth, uint32_t stack)
{
	return ann_event(w, tid, t, CT_EV_REGION_END, 0, name, task, depth, stack);
}

static int task_event(ct_tw *w, uint32_t tid, uint64_t t, uint8_t phase, uint64_t id,
		      uint64_t parent, const char *name, uint32_t stack)
{
	if (!id)
		return -EINVAL;
	return ann_event(w, tid, t, CT_EV_TASK, phase, name, id, parent, stack);
}

int ct_tw_task_begin(ct_tw *w, uint32_t tid, uint64_t t, uint64_t id, uint64_t parent,
		     const char *name, uint32_t stack)
{
	return task_event(w, tid, t, 0, id, parent, name, stack);
}

int ct_tw_task_end(ct_tw *w, uint32_t tid, uint64_t t, uint64_t id, uint32_t stack)
{
	return task_event(w, tid, t, 1, id, 0, "", stack);
}

int ct_tw_log(ct_tw *w, uint32_t tid, uint64_t t, uint64_t task_id, const char *category,
	      const char *msg, uint32_t stack)
{
	uint32_t m = ct_tw__str(w, msg ? msg : "");
	if (m == UINT32_MAX)
		return -ENOMEM;
	return ann_event(w, tid, t, CT_EV_LOG, 0, category, task_id, m, stack);
}

/* At most 1 + 10 + 10 + 5 + 5 payload bytes and a 1-byte length: within the 64 the
 * encoder reserves per event. */
void ct_tw__put_ann(ct_bytes *b, const tw_ev *e)
{
	size_t len_at = b->len++; /* the payload is shorter than 128 bytes: a 1-byte uvarint */
	switch (e->kind) {
	case CT_EV_REGION_BEGIN:
	case CT_EV_REGION_END:
		ct_bytes_uvarint(b, e->c);
		ct_bytes_uvarint(b, e->a);
		ct_bytes_uvarint(b, e->b);
		break;
	case CT_EV_TASK:
		b->p[b->len++] = e->reason;
		ct_bytes_uvarint(b, e->a);
		ct_bytes_uvarint(b, e->b);
		ct_bytes_uvarint(b, e->c);
		break;
	default: /* CT_EV_LOG */
		ct_bytes_uvarint(b, e->a);
		ct_bytes_uvarint(b, e->c);
		ct_bytes_uvarint(b, e->b);
		break;
	}
	ct_bytes_uvarint(b, e->stack);
	b->p[len_at] = (uint8_t)(b->len - len_at - 1);
}

/* ---- decoding ----------------------------------------------------------------------------- */

typedef struct {
	const uint8_t *base, *p, *end;
	const ct_trace_ann_tables *tb;
	const char *kind;
	char *what;
	size_t what_len;
} dec;

__attribute__((format(printf, 2, 3))) static int fail(dec *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->what, d->what_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int num(dec *d, const char *field, uint64_t max, uint64_t *v)
{
	size_t n = ct_uvarint_get(d->p, d->end, v);
	if (!n)
		return fail(d, "truncated or overlong varint in %s %s", d->kind, field);
	if (*v > max)
		return fail(d, "bad %s %s %llu", d->kind, field, (unsigned long long)*v);
	d->p += n;
	return 0;
}

static int dstring(dec *d, const char *field, const char **s)
{
	uint64_t v;
	if (!d->tb->nstrs)
		return fail(d, "%s %s with no strings in the chunk", d->kind, field);
	int rc = num(d, field, d->tb->nstrs - 1, &v);
	*s = rc ? NULL : d->tb->strs[v];
	return rc;
}

static int dstack(dec *d, uint32_t *out)
{
	uint64_t v;
	int rc = num(d, "stack index", d->tb->nstk, &v);
	*out = !rc && v ? d->tb->stk[v - 1] : 0;
	return rc;
}

static int fields(dec *d, uint8_t kind, ct_trace_annot *a)
{
	uint64_t v;
	int rc;
	a->name = "";
	switch (kind) {
	case CT_EV_REGION_BEGIN:
	case CT_EV_REGION_END:
		if ((rc = dstring(d, "name string index", &a->name)) ||
		    (rc = num(d, "task", UINT64_MAX, &a->task)) ||
		    (rc = num(d, "depth", UINT16_MAX, &v)))
			return rc;
		a->depth = (uint32_t)v;
		return dstack(d, &a->stack);
	case CT_EV_TASK:
		if (d->p >= d->end || *d->p > 1)
			return d->p >= d->end ? fail(d, "truncated task event")
					      : fail(d, "bad task phase %u", *d->p);
		a->ended = *d->p++;
		if ((rc = num(d, "id", UINT64_MAX, &a->task)))
			return rc;
		if (!a->task)
			return fail(d, "bad task id 0");
		if ((rc = num(d, "parent", UINT64_MAX, &a->parent)) ||
		    (rc = dstring(d, "name string index", &a->name)))
			return rc;
		return dstack(d, &a->stack);
	default: /* CT_EV_LOG */
		if ((rc = num(d, "task", UINT64_MAX, &a->task)) ||
		    (rc = dstring(d, "category string index", &a->name)) ||
		    (rc = dstring(d, "message string index", &a->msg)))
			return rc;
		return dstack(d, &a->stack);
	}
}

const char *ct_trace_ann_kind_name(uint8_t kind)
{
	switch (kind) {
	case CT_EV_REGION_BEGIN:
		return "region begin";
	case CT_EV_REGION_END:
		return "region end";
	case CT_EV_TASK:
		return "task";
	case CT_EV_LOG:
		return "log";
	default:
		return NULL;
	}
}

int ct_trace_ann_decode(uint8_t kind, const uint8_t *p, size_t len, const ct_trace_ann_tables *tb,
			ct_trace_annot *a, size_t *at, char *what, size_t what_len)
{
	dec d = {.base = p,
		 .p = p,
		 .end = p + len,
		 .tb = tb,
		 .kind = ct_trace_ann_kind_name(kind),
		 .what = what,
		 .what_len = what_len};
	*at = 0;
	if (!d.kind)
		return fail(&d, "unknown annotation kind %u", kind);
	a->kind = kind;
	int rc = fields(&d, kind, a);
	*at = (size_t)(d.p - d.base);
	return rc;
}
