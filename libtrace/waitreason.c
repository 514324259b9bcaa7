/*
 * waitreason.c — names of the wait reasons (see waitreason.h).
 */
#include "libtrace/waitreason.h"

#include <string.h>

static const char *const reason_names[CT_WAIT_NREASONS] = {
	[CT_WAIT_MUTEX] = "mutex", [CT_WAIT_RWLOCK] = "rwlock", [CT_WAIT_SPIN] = "spin",
	[CT_WAIT_SEM] = "sem",	   [CT_WAIT_COND] = "cond",	[CT_WAIT_JOIN] = "join",
	[CT_WAIT_NET] = "net",	   [CT_WAIT_SLEEP] = "sleep",	[CT_WAIT_FUTEX] = "futex",
	[CT_WAIT_IO] = "io",	   [CT_WAIT_KERNEL] = "kernel",
};

const char *ct_wait_reason_name(ct_wait_reason r)
{
	return (unsigned)r < CT_WAIT_NREASONS ? reason_names[r] : "unknown";
}

int ct_wait_reason_parse(const char *name)
{
	for (int r = 0; r < CT_WAIT_NREASONS; r++)
		if (strcmp(reason_names[r], name) == 0)
			return r;
	return -1;
}

bool ct_wait_reason_is_sync(ct_wait_reason r)
{
	return r <= CT_WAIT_COND || r == CT_WAIT_FUTEX;
}
