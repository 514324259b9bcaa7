# flame.mk — the flame graphs' script and page are kept as plain .js/.html files next to
# their C writers (libtrace/flame.c, libtrace/flame_html.c) and turned into C string
# literals at build time: each line becomes "…\n" with \, " and ? escaped (? because of
# trigraphs under -std=c11).
$(BUILD)/gen/libtrace/%.inc: libtrace/%
	@mkdir -p $(@D)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@

$(BUILD)/obj/libtrace/flame.o: $(BUILD)/gen/libtrace/flame_svg.js.inc
$(BUILD)/obj/libtrace/flame_html.o: $(BUILD)/gen/libtrace/flame_page.html.inc
