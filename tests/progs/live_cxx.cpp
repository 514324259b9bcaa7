// live_cxx.cpp — a C++ program for the live server's names (test_live.sh): for SECONDS
// (argv[1], default 3) the main thread spins in live::Spinner::spin(int), a static member
// function whose symbol is mangled (_ZN4live7Spinner4spinEi); the served profiles must
// show it demangled, as `ctrace report` does.
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace live
{
struct Spinner {
	static double spin(int rounds);
};

__attribute__((noinline)) double Spinner::spin(int rounds)
{
	volatile double x = 1;
	for (int i = 0; i < rounds; i++)
		x = x * 1.0000001 + 1e-9;
	return x;
}
} // namespace live

static double now()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? std::atof(argv[1]) : 3, end = now() + secs, sum = 0;
	while (now() < end)
		sum += live::Spinner::spin(200000);
	std::printf("live_cxx: done %d\n", sum > 0);
	return 0;
}
