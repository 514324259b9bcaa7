/*
 * demangle.c — C++ and Rust demangling with libiberty (see demangle.h).
 *
 * A Rust legacy name is a valid Itanium name too (`main::hot::h8817...` is what a C++
 * demangler makes of it), so Rust is tried first: libiberty's rust_demangle accepts a
 * `_ZN` name only when its last component is a Rust hash (`h` and 16 hex digits), and
 * drops that hash unless asked to keep it (DMGL_VERBOSE).
 */
#include "libtrace/demangle.h"

#include <libiberty/demangle.h>
#include <string.h>

char *ct_demangle(const char *sym)
{
	if (strnlen(sym, CT_DEMANGLE_MAX) == CT_DEMANGLE_MAX)
		return NULL;
	if (strncmp(sym, "_R", 2) == 0 || strncmp(sym, "_ZN", 3) == 0) {
		char *r = rust_demangle(sym, DMGL_PARAMS | DMGL_ANSI);
		if (r)
			return r;
	}
	if (strncmp(sym, "_Z", 2) != 0)
		return NULL;
	/* The options __cxa_demangle uses: parameters, and types as whole names. */
	return cplus_demangle_v3(sym, DMGL_PARAMS | DMGL_TYPES);
}
