/* error.c — filling a ct_error (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int ct_error_set(ct_error *err, int code, long long offset, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->offset = offset;
	}
	return -code;
}
