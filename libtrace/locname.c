/*
 * locname.c — naming a frame of a profile location (see locname.h).
 */
#include "libtrace/locname.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *ct_path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}

const char *ct_module_offset_name(const char *module, uint64_t off, char *buf, size_t len)
{
	snprintf(buf, len, "%s+0x%" PRIx64, module, off);
	return buf;
}

/* The function of frame k of l, or NULL. */
static const ct_function *frame_function(const ct_profile *p, const ct_location *l, uint32_t k)
{
	if (k < l->nlines && l->lines[k].function < p->nfunctions)
		return &p->functions[l->lines[k].function];
	return NULL;
}

const char *ct_location_name(const ct_profile *p, const ct_location *l, uint32_t k, char *buf,
			     size_t len)
{
	const ct_function *f = frame_function(p, l, k);
	if (f && f->name && *f->name)
		return f->name;
	if (f && f->system_name && *f->system_name)
		return f->system_name;
	if (l->mapping && l->mapping <= p->nmappings) {
		const ct_mapping *m = &p->mappings[l->mapping - 1];
		const char *b = ct_path_base(m->filename);
		if (*b)
			return ct_module_offset_name(
				b, l->address - m->memory_start + m->file_offset, buf, len);
	}
	snprintf(buf, len, "0x%" PRIx64, l->address);
	return buf;
}

const char *ct_location_source(const ct_profile *p, const ct_location *l, uint32_t k, char *buf,
			       size_t len)
{
	const ct_function *f = frame_function(p, l, k);
	if (!f || !f->filename || !*f->filename)
		return NULL;
	const char *b = ct_path_base(f->filename);
	if (l->lines[k].line > 0)
		snprintf(buf, len, "%s:%" PRId64, b, l->lines[k].line);
	else
		snprintf(buf, len, "%s", b);
	return buf;
}
