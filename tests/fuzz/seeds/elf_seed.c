/* elf_seed — the source of the ELF fuzz seeds: tests/fuzz/run compiles it into small
 * shared objects (plain, with DWARF, stripped, by clang) so no binary seed is committed. */
static inline __attribute__((always_inline)) int seed_inner(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int seed_work(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += seed_inner(i);
	return s;
}

int seed_entry(int n)
{
	return seed_work(n) + 1;
}
