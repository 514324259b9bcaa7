/*
 * gzip.c — gzip framing with zlib (see gzip.h).
 */
#include "libtrace/gzip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

int ct_gzip(const uint8_t *raw, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* Fastest level, as Go's runtime writes: profiles are big and written at exit. The
	 * window and hash fit the input (a match reaches back at most len bytes): the full
	 * ones are 256 KiB to allocate and clear, most of the cost of a small profile, and
	 * each process a shell script runs writes several. */
	int wbits = 9;
	while (wbits < MAX_WBITS && ((size_t)1 << wbits) < len + 262)
		wbits++;
	int mem_level = wbits - 7 < 8 ? wbits - 7 : 8;
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + wbits, mem_level,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	size_t cap = deflateBound(&zs, len) + 64;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_out = buf;
	int zrc = Z_OK;
	size_t fed = 0;
	while (zrc == Z_OK) {
		/* avail_in/avail_out are 32 bits wide: feed and drain in slices. */
		if (zs.avail_in == 0 && fed < len) {
			size_t n = len - fed < (1u << 30) ? len - fed : (1u << 30);
			zs.next_in = (Bytef *)(raw + fed);
			zs.avail_in = (uInt)n;
			fed += n;
		}
		size_t room = cap - (size_t)(zs.next_out - buf);
		zs.avail_out = room < (1u << 30) ? (uInt)room : (1u << 30);
		zrc = deflate(&zs, fed == len ? Z_FINISH : Z_NO_FLUSH);
	}
	size_t n = (size_t)(zs.next_out - buf);
	deflateEnd(&zs);
	if (zrc != Z_STREAM_END) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/* Asks for huge pages under the big buffer p of n bytes: fewer page faults as it fills. */
static void advise_huge(void *p, size_t n)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	if (!p || n < 2 * huge)
		return;
	uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);
	if (e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE); /* only a hint: failure is harmless */
}

int ct_gunzip(const uint8_t *buf, size_t len, size_t max, uint8_t **out, size_t *outlen,
	      ct_error *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return ct_error_set(err, ENOMEM, -1, "out of memory starting gzip decoder");
	/* The last member's trailer ends with its size mod 2^32 (ISIZE): usually the whole
	 * output, which then needs no reallocation. It is only a hint, bounded by what
	 * deflate can reach (1032:1) and by max; a wrong one costs a realloc or some
	 * unused room. */
	size_t cap = len < max / 4 ? len * 4 : max;
	if (len >= 18) {
		const uint8_t *t = buf + len - 4;
		size_t isize =
			(size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
		if (isize && isize <= max && isize / 1032 <= len)
			cap = isize;
	}
	if (cap < 4096)
		cap = 4096;
	uint8_t *obuf = malloc(cap);
	advise_huge(obuf, cap);
	size_t pos = 0, have = 0; /* input consumed, output produced */
	int rc = obuf ? 0 : ct_error_set(err, ENOMEM, -1, "out of memory inflating gzip");
	while (!rc) {
		if (have == cap) {
			/* have <= max here (checked below). Room for one byte past the limit
			 * tells "exactly max" from "more". */
			size_t ncap = cap < max / 2 ? cap * 2 : max + 1;
			uint8_t *nb = realloc(obuf, ncap);
			if (!nb) {
				rc = ct_error_set(err, ENOMEM, -1, "out of memory inflating gzip");
				break;
			}
			obuf = nb;
			cap = ncap;
		}
		size_t in = len - pos < (1u << 30) ? len - pos : (1u << 30);
		size_t room = cap - have < (1u << 30) ? cap - have : (1u << 30);
		zs.next_in = (Bytef *)(buf + pos);
		zs.avail_in = (uInt)in;
		zs.next_out = obuf + have;
		zs.avail_out = (uInt)room;
		int zrc = inflate(&zs, Z_NO_FLUSH);
		pos += in - zs.avail_in;
		have += room - zs.avail_out;
		if (have > max) {
			rc = ct_error_set(err, EINVAL, (long long)pos,
					  "gzip stream inflates to more than %zu bytes (limit) at "
					  "byte %zu",
					  max, pos);
		} else if (zrc == Z_STREAM_END) {
			if (pos == len)
				break;
			/* Another member may follow (concatenated gzip files are one file). */
			if (!ct_is_gzip(buf + pos, len - pos)) {
				rc = ct_error_set(err, EINVAL, (long long)pos,
						  "trailing data after gzip stream at byte %zu",
						  pos);
			} else if (inflateReset(&zs) != Z_OK) {
				rc = ct_error_set(err, ENOMEM, -1, "cannot restart gzip decoder");
			}
		} else if (zrc == Z_DATA_ERROR) {
			rc = ct_error_set(err, EINVAL, (long long)pos,
					  "corrupt gzip stream at byte %zu: %s", pos,
					  zs.msg ? zs.msg : "invalid data");
		} else if (zrc == Z_MEM_ERROR) {
			rc = ct_error_set(err, ENOMEM, -1, "out of memory inflating gzip");
		} else if (pos == len && have < cap && (zrc == Z_OK || zrc == Z_BUF_ERROR)) {
			/* All input consumed, output room left, stream not ended: it was cut. */
			rc = ct_error_set(err, EINVAL, (long long)len,
					  "truncated gzip stream at byte %zu", len);
		} else if (zrc != Z_OK) {
			rc = ct_error_set(err, EINVAL, (long long)pos,
					  "corrupt gzip stream at byte %zu", pos);
		}
	}
	inflateEnd(&zs);
	if (rc) {
		free(obuf);
		return rc;
	}
	*out = obuf;
	*outlen = have;
	return 0;
}
