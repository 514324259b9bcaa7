# samples.mk — samples that need more than one file.

# cpu_hot calls lib_work in its own shared library, found next to the binary.
$(BUILD)/samples/libcpu_hot_lib.so: samples/lib/cpu_hot_lib.c
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/samples/cpu_hot: $(BUILD)/samples/libcpu_hot_lib.so
SAMPLE_LDLIBS_cpu_hot = -L$(BUILD)/samples -lcpu_hot_lib -Wl,-rpath,'$$ORIGIN'
