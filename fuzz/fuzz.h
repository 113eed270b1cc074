/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the libFuzzer targets in fuzz/ (see tests/hardening.mk): the
 * entry point's prototype, and fz_fail(), which reports a broken property
 * and aborts so that libFuzzer keeps the input as a crash reproducer.
 */
#ifndef VMH_FUZZ_H
#define VMH_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn, unused));
static void fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz property broken: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

#endif
