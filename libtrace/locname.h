/*
 * locname.h — the one way libtrace names a frame of a profile location, for every report
 * (text tables, trees and flame graphs, filters, heap and lock reports) and for the
 * symbolizer's fallback names.
 *
 * A frame is named, in order of preference:
 *   - by its function's name (its system name when the name is empty);
 *   - "module+0xOFFSET" for a location without lines: the base name of the mapping's file
 *     and the file offset of the address — what `addr2line -e module` needs;
 *   - "0xADDRESS" without a mapping (or with one that has no file name).
 * Its source is "file:line" with the file's base name, when the function has a file.
 *
 * Thread-safety: none needed; functions only read their arguments. Not async-signal-safe.
 */
#ifndef CT_LOCNAME_H
#define CT_LOCNAME_H

#include <stddef.h>
#include <stdint.h>

#include "libtrace/profile.h"

/* Room for any name these functions format into a caller's buffer. */
#define CT_LOCNAME_MAX 512

/* The base name of path (after its last '/'; path itself when it ends in '/'). */
const char *ct_path_base(const char *path);

/* Formats "module+0xOFF" into buf; returns buf. */
const char *ct_module_offset_name(const char *module, uint64_t off, char *buf, size_t len);

/* The name of frame k of location l of p (k counts its lines, innermost first; any k when
 * it has none): a string of p, or buf (len bytes, CT_LOCNAME_MAX is enough) holding
 * "module+0xOFF" or "0xADDR". */
const char *ct_location_name(const ct_profile *p, const ct_location *l, uint32_t k, char *buf,
			     size_t len);

/* "file:line" of frame k of l into buf (base name of the file; "file" alone when the line
 * is 0); NULL when the frame has no source file. */
const char *ct_location_source(const ct_profile *p, const ct_location *l, uint32_t k, char *buf,
			       size_t len);

#endif
