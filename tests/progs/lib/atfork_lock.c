/* libatfork_lock — preloaded after the agent, as an allocator such as jemalloc is: its
 * constructor, which runs before the agent's, registers fork handlers that take and
 * release its mutex, so its prepare handler runs after the agent's (fork_lock). */
#include <pthread.h>

pthread_mutex_t atfork_lock_mutex = PTHREAD_MUTEX_INITIALIZER;

static void take(void)
{
	pthread_mutex_lock(&atfork_lock_mutex);
}

static void give(void)
{
	pthread_mutex_unlock(&atfork_lock_mutex);
}

__attribute__((constructor)) static void register_handlers(void)
{
	pthread_atfork(take, give, give);
}
