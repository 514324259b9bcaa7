/* priv_server — a server that starts as root and forks 2 workers which switch to the
 * user nobody (setgid, then setuid) and then handle "requests" (CPU work in
 * handle_request). Prints the workers' pids; prints "skip" when not run as root. */
#include "nobody_workers.h"

int main(void)
{
	return nobody_workers(NULL);
}
