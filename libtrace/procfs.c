/* procfs.c — small reads of /proc files (procfs.h). */
#include "libtrace/procfs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long ct_procfs_read(const char *path, char *buf, size_t len)
{
	buf[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

uint64_t ct_procfs_status_mask(const char *path, const char *key)
{
	char buf[2048];
	ct_procfs_read(path, buf, sizeof(buf));
	const char *k = strstr(buf, key);
	return k ? strtoull(k + strlen(key), NULL, 16) : 0;
}

const char *ct_procfs_stat_fields(const char *path, char *buf, size_t len)
{
	if (ct_procfs_read(path, buf, len) <= 0)
		return NULL;
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	if (!open || !close || close < open || close[1] != ' ')
		return NULL;
	return close + 2;
}
