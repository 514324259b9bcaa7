// thrower — a C++ library whose function throws and catches an exception.
#include <stdexcept>

extern "C" int thrower_run(int n)
{
	int caught = 0;
	for (int i = 0; i < n; i++) {
		try {
			throw std::runtime_error("expected");
		} catch (const std::exception &) {
			caught++;
		}
	}
	return caught;
}
