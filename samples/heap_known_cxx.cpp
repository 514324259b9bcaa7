// heap_known_cxx — C++ allocations with known sizes, for checking that new/new[] reach
// the heap profiler through malloc: known_new_array does 6 x new char[777] and deletes 3
// (alloc 6 / 4662 B, in use 3 / 2331 B); known_new_object does 4 x new Node (48 B) and
// deletes all (alloc 4 / 192 B, in use 0).
#include <cstdio>

struct Node {
	long v[6];
};

static char *kept[8];

__attribute__((noinline)) static void known_new_array()
{
	char *p[6];
	for (int i = 0; i < 6; i++) {
		p[i] = new char[777];
		p[i][0] = (char)i;
	}
	for (int i = 0; i < 3; i++)
		delete[] p[i];
	for (int i = 3; i < 6; i++)
		kept[i] = p[i];
	std::printf("known_new_array 6 4662 3 2331\n");
}

__attribute__((noinline)) static void known_new_object()
{
	Node *n[4];
	for (int i = 0; i < 4; i++)
		n[i] = new Node{{i, 0, 0, 0, 0, 0}};
	long s = 0;
	for (int i = 0; i < 4; i++) {
		s += n[i]->v[0];
		delete n[i];
	}
	std::printf("known_new_object 4 192 0 0 (%ld)\n", s);
}

int main()
{
	known_new_array();
	known_new_object();
	return kept[5] ? 0 : 1;
}
