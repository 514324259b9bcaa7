/* units.c — human-readable sample values (see units.h). */
#include "libtrace/units.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints x with two decimals, then drops trailing zeros and a trailing point. */
static const char *fmt_scaled(double x, const char *suffix, char *buf, size_t len)
{
	char num[64];
	snprintf(num, sizeof(num), "%.2f", x);
	char *dot = strchr(num, '.');
	if (dot) {
		char *e = num + strlen(num);
		while (e > dot + 1 && e[-1] == '0')
			*--e = '\0';
		if (e == dot + 1)
			*dot = '\0';
	}
	snprintf(buf, len, "%s%s", num, suffix);
	return buf;
}

const char *ct_units_format(int64_t v, const char *unit, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		double ns;
	} times[] = {
		{"nanoseconds", 1}, {"microseconds", 1e3}, {"milliseconds", 1e6}, {"seconds", 1e9}};
	static const struct {
		const char *suffix;
		double ns;
	} tsteps[] = {{"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}};
	const char *sign = v < 0 ? "-" : "";
	double a = v < 0 ? -(double)v : (double)v;
	char tmp[64];
	unit = unit ? unit : "";
	if (v == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if (strcmp(unit, times[i].unit) != 0)
			continue;
		double ns = a * times[i].ns;
		size_t k = 0;
		/* A value that would print as 1000 of a unit moves up to the next one. */
		while (k + 1 < sizeof(tsteps) / sizeof(tsteps[0]) && ns < tsteps[k].ns * 0.999995)
			k++;
		if (ns >= 60e9 * 60) /* an hour or more reads better in hours */
			fmt_scaled(ns / 3600e9, "h", tmp, sizeof(tmp));
		else
			fmt_scaled(ns / tsteps[k].ns, tsteps[k].suffix, tmp, sizeof(tmp));
		snprintf(buf, len, "%s%s", sign, tmp);
		return buf;
	}
	if (strcmp(unit, "bytes") == 0) {
		static const char *const sfx[] = {"B", "KB", "MB", "GB", "TB", "PB"};
		size_t k = 0;
		while (k + 1 < sizeof(sfx) / sizeof(sfx[0]) && a >= 1023.995) {
			a /= 1024;
			k++;
		}
		fmt_scaled(a, sfx[k], tmp, sizeof(tmp));
		snprintf(buf, len, "%s%s", sign, tmp);
		return buf;
	}
	if (*unit && strcmp(unit, "count") != 0)
		snprintf(buf, len, "%" PRId64 " %s", v, unit);
	else
		snprintf(buf, len, "%" PRId64, v);
	return buf;
}

int64_t ct_units_in_base(const char *unit, int *family)
{
	static const struct {
		const char *name;
		int family;
		int64_t base;
	} units[] = {{"nanoseconds", 1, 1},
		     {"microseconds", 1, 1000},
		     {"milliseconds", 1, 1000000},
		     {"seconds", 1, 1000000000},
		     {"minutes", 1, 60000000000},
		     {"hours", 1, 3600000000000},
		     {"bytes", 2, 1},
		     {"kilobytes", 2, 1ll << 10},
		     {"megabytes", 2, 1ll << 20},
		     {"gigabytes", 2, 1ll << 30},
		     {"terabytes", 2, 1ll << 40},
		     {"petabytes", 2, 1ll << 50}};
	*family = 0;
	for (size_t i = 0; unit && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].name) == 0) {
			*family = units[i].family;
			return units[i].base;
		}
	return 0;
}

int64_t ct_units_parse_duration(const char *v)
{
	char *end;
	if (!v || !*v)
		return -1;
	double x = strtod(v, &end);
	double unit = !*end		       ? 1e9
		      : strcmp(end, "s") == 0  ? 1e9
		      : strcmp(end, "ms") == 0 ? 1e6
		      : strcmp(end, "m") == 0  ? 60e9
		      : strcmp(end, "h") == 0  ? 3600e9
					       : 0;
	if (end == v || unit == 0 || x < 0 || x * unit >= 1e18)
		return -1;
	return (int64_t)(x * unit);
}
