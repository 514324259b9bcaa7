# timeline.mk — the timeline's page and scripts (libtrace/timeline_page.html,
# libtrace/timeline.js, libtrace/timeline_ann.js) become C string literals at build time,
# by flame.mk's rule.
$(BUILD)/obj/libtrace/timeline.o: $(BUILD)/gen/libtrace/timeline_page.html.inc \
  $(BUILD)/gen/libtrace/timeline.js.inc $(BUILD)/gen/libtrace/timeline_ann.js.inc
