# test_docs — the documentation stands alone: README.md and docs/ point at nothing outside
# the repository, and every relative link in them names a file that exists.
. "$(dirname "$0")/lib.sh"
cd "$CT_ROOT"
for f in README.md docs/*.md; do
	if grep -n '\.\./shared\|\.\./\.\./' "$f"; then
		fail "$f points outside the repository"
	fi
	dir=$(dirname "$f")
	grep -o '](\([^)#]*\)' "$f" | sed 's/^](//' | grep -v '^[a-z]*:' | while read -r link; do
		[ -z "$link" ] || [ -e "$dir/$link" ] || fail "$f links to $link, which does not exist"
	done
done
ok "README.md and docs/ stand alone; relative links resolve"
