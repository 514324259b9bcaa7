/*
 * httpaddr.h — the live server's listen address (CTRACE_HTTP, `ctrace record --http`):
 * HOST:PORT, [V6]:PORT or unix:PATH, parsed and checked in one place, so that the CLI
 * refuses what the agent would refuse, before the program runs.
 *
 * Thread-safety: pure functions (ct_http_addr_check reads CTRACE_HTTP_ALLOW_REMOTE).
 */
#ifndef CT_HTTPADDR_H
#define CT_HTTPADDR_H

#include <sys/socket.h>

/* Parses HOST:PORT or [V6]:PORT ("localhost" is 127.0.0.1) into *ss. 0 or -EINVAL. */
int ct_http_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len);

/* Whether a TCP address may be served: loopback, unless CTRACE_HTTP_ALLOW_REMOTE=1. */
int ct_http_addr_allowed(const struct sockaddr_storage *ss);

/* Whether addr can be served: 0, -EINVAL (not an address), -ENAMETOOLONG (unix:PATH
 * empty or longer than a socket path), -EACCES (not loopback, remote not allowed). */
int ct_http_addr_check(const char *addr);

/* Why rc (from the above, or a socket call's -errno) stops serving, as a phrase. */
const char *ct_http_addr_error(int rc);

#endif
