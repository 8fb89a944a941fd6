/*
 * Diagnostics on stderr, one line each, prefixed "sockaudit: ".
 */
#include "diag.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_uint warned; /* one bit per enum diag_kind */

static void vwarn(const char *fmt, va_list ap)
{
	/* One write per line, so lines from two threads never mix. */
	char line[1024];
	int n = snprintf(line, sizeof(line), "sockaudit: ");

	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): clang 14 misreads glibc's va_start
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void diag_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void diag_warn_once(enum diag_kind kind, const char *fmt, ...)
{
	unsigned bit = 1u << kind;
	va_list ap;

	if (atomic_fetch_or(&warned, bit) & bit)
		return;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}
