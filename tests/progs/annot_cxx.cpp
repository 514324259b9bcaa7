// annot_cxx — include/ctrace/annotate.h from C++11 (test_annotate builds it with
// -std=c++11 -Wall -Wextra -Werror): the RAII region and label, the scope macro, a task.
#include <cstdio>

#include "ctrace/annotate.h"

int main()
{
	{
		ctrace::Region outer("outer");
		ctrace::Label endpoint("endpoint", "/cxx");
		CTRACE_REGION("inner");
		uint64_t task = ctrace_task_begin("cxx task");
		{
			ctrace::Region r(task, "task region");
			ctrace_log("cxx", "task %d", 1);
		}
		ctrace_task_end(task);
	}
	std::printf("annot_cxx done\n");
	return 0;
}
