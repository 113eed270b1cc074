/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_bytes: the little-endian byte writer and reader under every wire
 * format of vmhandoff (vmh_wire: CPG records and the state file; vmh_ipc:
 * the local socket). Integers are written and read byte by byte, so the
 * host's order and alignment never matter.
 *
 * Writer: p == NULL only counts, so that one function can size a body and
 * then write it; with p set, the caller sized cap beforehand.
 * Reader: a read past the end marks it bad and returns nothing; once bad,
 * every read fails, so a run of reads is checked once, at its end.
 */
#ifndef VMH_BYTES_H
#define VMH_BYTES_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vmh_bw {
	uint8_t *p;
	size_t pos, cap;
};

static inline void vmh_bw_put(struct vmh_bw *w, const void *src, size_t n)
{
	if (w->p && n) {
		assert(w->pos + n <= w->cap);	/* sized before */
		memcpy(w->p + w->pos, src, n);
	}
	w->pos += n;
}

static inline void vmh_bw_zero(struct vmh_bw *w, size_t n)
{
	if (w->p && n) {
		assert(w->pos + n <= w->cap);
		memset(w->p + w->pos, 0, n);
	}
	w->pos += n;
}

/* v as `bytes` little-endian bytes at p, and back */
static inline void vmh_le_put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t vmh_le_get(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void vmh_bw_le(struct vmh_bw *w, uint64_t v, unsigned bytes)
{
	uint8_t b[8];

	vmh_le_put(b, v, bytes);
	vmh_bw_put(w, b, bytes);
}

struct vmh_br {
	const uint8_t *p;
	size_t pos, len;
	bool bad;
};

static inline const uint8_t *vmh_br_take(struct vmh_br *r, size_t n)
{
	const uint8_t *at;

	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	at = r->p + r->pos;
	r->pos += n;
	return at;
}

static inline uint64_t vmh_br_le(struct vmh_br *r, unsigned bytes)
{
	const uint8_t *b = vmh_br_take(r, bytes);

	return b ? vmh_le_get(b, bytes) : 0;
}

static inline void vmh_br_bytes(struct vmh_br *r, void *out, size_t n)
{
	const uint8_t *b = vmh_br_take(r, n);

	if (b && n)
		memcpy(out, b, n);
}

/* n reserved bytes, which must be zero. */
static inline void vmh_br_reserved(struct vmh_br *r, size_t n)
{
	const uint8_t *b = vmh_br_take(r, n);

	for (size_t i = 0; b && i < n; i++)
		if (b[i])
			r->bad = true;
}

#endif
