/* folded.c — folded-stack lines from a call tree (see folded.h). */
#include "libtrace/folded.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/escape.h"

/* A frame name as folded.h says: ';' (the frame separator) as ':', control characters
 * and invalid UTF-8 as \xNN (so a line break cannot end a line). */
static void put_name(FILE *out, const char *s)
{
	for (;;) {
		size_t k = strcspn(s, ";");
		ct_escape_text(out, s, k);
		if (!s[k])
			return;
		putc(':', out);
		s += k + 1;
	}
}

/* Writes the path of node i (root excluded), root first, then a space. */
static void put_path(FILE *out, const ct_tree *t, uint32_t i, uint32_t *path)
{
	uint32_t d = 0;
	for (uint32_t j = i; j != 0; j = t->nodes[j].parent)
		path[d++] = j;
	while (d-- > 0) {
		put_name(out, t->frames[t->nodes[path[d]].frame].name);
		putc(d ? ';' : ' ', out);
	}
}

static int write_cols(FILE *out, const ct_tree *t, uint32_t col_a, int64_t col_b)
{
	if (col_a >= t->ncols || col_b >= (int64_t)t->ncols)
		return -EINVAL;
	uint32_t *path = malloc((t->nnodes ? t->nnodes : 1) * sizeof(*path));
	if (!path)
		return -ENOMEM;
	for (uint32_t i = 1; i < t->nnodes; i++) {
		int64_t a = t->self[(size_t)i * t->ncols + col_a];
		int64_t b = col_b >= 0 ? t->self[(size_t)i * t->ncols + (uint32_t)col_b] : 0;
		if (a == 0 && b == 0)
			continue;
		put_path(out, t, i, path);
		if (col_b >= 0)
			fprintf(out, "%" PRId64 " %" PRId64 "\n", a, b);
		else
			fprintf(out, "%" PRId64 "\n", a);
	}
	free(path);
	return ferror(out) ? -EIO : 0;
}

int ct_folded_write(FILE *out, const ct_tree *t, uint32_t col)
{
	return write_cols(out, t, col, -1);
}

int ct_folded_write2(FILE *out, const ct_tree *t, uint32_t col_a, uint32_t col_b)
{
	return write_cols(out, t, col_a, col_b);
}
