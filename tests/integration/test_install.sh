# test_install — `make install PREFIX=...` gives a working ctrace (it finds its agent in
# PREFIX/lib), the man page, headers + libtrace.a that a program can build against, and
# ctrace/annotate.h that a program includes without linking anything.
. "$(dirname "$0")/lib.sh"
make -s -C "$CT_ROOT" install BUILD="$CT_BUILD" PREFIX="$TMP/inst" > "$TMP/install.log" 2>&1 ||
	{ cat "$TMP/install.log"; fail "make install failed"; }
for f in bin/ctrace lib/libctrace.so lib/libtrace.a share/man/man1/ctrace.1 \
	include/ctrace/libtrace/pprof.h; do
	[ -e "$TMP/inst/$f" ] || fail "not installed: $f"
done
"$TMP/inst/bin/ctrace" record -o "$TMP/rec" -e cpu -- "$SAMPLES/cpu_hot" 0.5 > /dev/null 2> "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "installed ctrace cannot record"; }
"$TMP/inst/bin/ctrace" report --top 3 "$TMP/rec/cpu.pb.gz" | grep -q hot_loop || fail "installed ctrace: report"
cat > "$TMP/use.c" <<'C'
#include <stdio.h>
#include "libtrace/pprof.h"
int main(int argc, char **argv)
{
	ct_profile *p;
	ct_error err;
	if (argc < 2 || ct_pprof_read_file(argv[1], &p, &err) != 0) {
		fprintf(stderr, "%s\n", argc < 2 ? "usage" : err.msg);
		return 1;
	}
	printf("%zu samples\n", p->nsamples);
	ct_profile_free(p);
	return 0;
}
C
cc -std=c11 -I"$TMP/inst/include/ctrace" -o "$TMP/use" "$TMP/use.c" "$TMP/inst/lib/libtrace.a" \
	-lprotobuf-c -lz -ldw -lelf -ldl -lm || fail "cannot build against the installed headers"
"$TMP/use" "$TMP/rec/cpu.pb.gz" | grep -q samples || fail "program built against libtrace.a failed"
# The annotation header: a program includes <ctrace/annotate.h> and links nothing.
cat > "$TMP/annot.c" <<'C'
#include <stdio.h>
#include <ctrace/annotate.h>
int main(void)
{
	ctrace_label_push("k", "v");
	ctrace_label_pop();
	printf("annotated\n");
	return 0;
}
C
cc -std=c11 -Wall -Wextra -Werror -I"$TMP/inst/include" -o "$TMP/annot" "$TMP/annot.c" ||
	fail "cannot build against the installed ctrace/annotate.h"
"$TMP/annot" | grep -q annotated || fail "annotated program failed"
ok "install: binary, agent, man page, headers and library work"
