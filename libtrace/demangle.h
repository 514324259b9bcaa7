/*
 * demangle.h — the human form of a mangled symbol name: C++ (Itanium ABI, `_Z...`) and
 * Rust, both its legacy mangling (`_ZN...17h<hash>E`, with `$LT$`-style escapes) and v0
 * (`_R...`), as c++filt and rustc-demangle print them. Rust names lose their hash suffix
 * (`main::hot`, not `main::hot::h88173e3468768705`), as perf and pprof show them.
 *
 * Uses libiberty's demanglers (Debian's libiberty-dev), which bound their recursion on
 * hostile input; names longer than CT_DEMANGLE_MAX are not given to them at all.
 *
 * Thread-safety: safe (no shared state). Not async-signal-safe (allocates).
 */
#ifndef CT_DEMANGLE_H
#define CT_DEMANGLE_H

/* The longest name demangled. */
#define CT_DEMANGLE_MAX 4096

/* The demangled form of sym, malloc'd (caller frees), or NULL when sym is not a name
 * these manglings produce (plain C names among them), is too long, or memory ran out. */
char *ct_demangle(const char *sym);

#endif
