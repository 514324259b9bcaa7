# heap.mk — the heap room's C++ sample (samples/*.cpp are not picked up by the Makefile).
CXX_SAMPLE_FLAGS := -std=c++17 -O2 -g -Wall -Wextra -Werror -pthread

$(BUILD)/samples/heap_known_cxx: samples/heap_known_cxx.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXX_SAMPLE_FLAGS) -o $@ $<

EXTRA_TARGETS += $(BUILD)/samples/heap_known_cxx
