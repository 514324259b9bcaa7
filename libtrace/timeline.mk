# timeline.mk — the timeline's page and script (libtrace/timeline_page.html,
# libtrace/timeline.js) become C string literals at build time, by flame.mk's rule.
$(BUILD)/obj/libtrace/timeline.o: $(BUILD)/gen/libtrace/timeline_page.html.inc \
  $(BUILD)/gen/libtrace/timeline.js.inc
