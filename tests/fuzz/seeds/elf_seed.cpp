// elf_seed.cpp — the C++ ELF fuzz seed (mangled names, a template, a namespace).
namespace seed {
template <typename T> struct Box {
	T v;
	__attribute__((noinline)) T get() const { return v; }
};
} // namespace seed

int seed_cxx(int x)
{
	seed::Box<int> b{x};
	return b.get();
}
