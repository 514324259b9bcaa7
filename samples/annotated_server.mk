# annotated_server.mk — samples/annotated_server/: the sample that uses
# include/ctrace/annotate.h (it needs -Iinclude, and links nothing of ours).
EXTRA_TARGETS += $(BUILD)/samples/annotated_server
$(BUILD)/samples/annotated_server: samples/annotated_server/annotated_server.c \
		include/ctrace/annotate.h
	@mkdir -p $(@D)
	$(CC) $(SAMPLE_CFLAGS) -Iinclude -o $@ $<
