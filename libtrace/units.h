/*
 * units.h — human-readable sample values: nanoseconds as "812us", "2.51s"; bytes as
 * "512B", "1.2MB" (powers of 1024); counts as plain integers. Used by every report view
 * so that a value reads the same in the text table, the flame graph and its tooltips.
 *
 * Thread-safety: pure functions over their arguments.
 */
#ifndef CT_UNITS_H
#define CT_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Formats v, measured in unit (a pprof unit name: "nanoseconds", "microseconds",
 * "milliseconds", "seconds", "bytes", "count", ...), into buf; returns buf. Values keep
 * at most two decimals, trailing zeros dropped; zero prints as "0" in any unit. Unknown units print
 * as "N unit". */
const char *ct_units_format(int64_t v, const char *unit, char *buf, size_t len);

/* How many of its family's smallest unit one unit is worth — nanoseconds for
 * "nanoseconds".."hours", bytes for "bytes".."petabytes" (powers of 1024, as pprof) — with
 * *family set to 1 (time) or 2 (size); 0 for a unit of neither ("count", "widgets"). */
int64_t ct_units_in_base(const char *unit, int *family);

/* Parses a duration: "1s", "500ms", "2m", "1h", or plain seconds ("0.25"). Returns it in
 * nanoseconds, 0 for "0", and -1 when v is not a duration. */
int64_t ct_units_parse_duration(const char *v);

#endif
