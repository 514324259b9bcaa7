/* libtls_mod — a library with thread-local data, copied under several names and dlopened
 * by sig_tls: each copy is a module of its own in every thread's TLS vector. */
__thread int tls_mod_data[4096]; /* beyond the static TLS surplus: a dynamic block */

int tls_mod_touch(void)
{
	return ++tls_mod_data[1];
}
