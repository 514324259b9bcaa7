/* httpaddr.c — the live server's listen address, parsed and checked (httpaddr.h). */
#include "libtrace/httpaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

int ct_http_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	long port = atol(colon + 1);
	size_t hl = (size_t)(colon - addr);
	if (port > 65535 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof(*ss));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *in6 = (void *)ss;
		host[hl - 1] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *in = (void *)ss;
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	*len = sizeof(*in);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

int ct_http_addr_allowed(const struct sockaddr_storage *ss)
{
	const char *v = getenv("CTRACE_HTTP_ALLOW_REMOTE");
	if (v && strcmp(v, "1") == 0)
		return 1;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *in6 = (const void *)ss;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

int ct_http_addr_check(const char *addr)
{
	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un un;
		size_t n = strlen(addr + 5);
		return n == 0 || n >= sizeof(un.sun_path) ? -ENAMETOOLONG : 0;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	if (ct_http_addr_parse(addr, &ss, &len) < 0)
		return -EINVAL;
	return ct_http_addr_allowed(&ss) ? 0 : -EACCES;
}

const char *ct_http_addr_error(int rc)
{
	switch (rc) {
	case -EACCES:
		return "not a loopback address (set CTRACE_HTTP_ALLOW_REMOTE=1 to allow it)";
	case -EINVAL:
		return "not HOST:PORT, [V6]:PORT or unix:PATH";
	case -ENAMETOOLONG:
		return "the unix socket path is empty or too long";
	default:
		return strerror(-rc);
	}
}
