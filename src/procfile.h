/*
 * The text files of /proc/net (tcp, tcp6, udp, udp6, unix): read one
 * line at a time, and the fields their lines are made of.  No parsing
 * of any one file here: source_procnet.c, source_udp.c and
 * source_unix.c know their columns.
 */
#ifndef PROCFILE_H
#define PROCFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Call each(line, ctx) for every line of path, in order.  Returns 0,
 * -errno when the file cannot be opened or a read (or an allocation)
 * fails before its end, or what each returned when it returned less
 * than 0 (which stops the reading).
 */
int procfile_each_line(const char *path, int (*each)(const char *line, void *ctx),
		       void *ctx);

/*
 * A table kept in one file per address family: call
 * read_one(path, family, ctx) for PROC_ROOT/net/NAME (AF_INET, when v4) and
 * then PROC_ROOT/net/NAME6 (AF_INET6, when v6).  A missing NAME6 is no
 * error when NAME was read (a kernel without IPv6).  Returns 0 or the
 * first error read_one returned.
 */
int procfile_each_family(const char *proc_root, const char *name, bool v4,
			 bool v6,
			 int (*read_one)(const char *path, int family, void *ctx),
			 void *ctx);

/* Skip spaces and tabs; the start of the next field, or NULL at the end
 * of the line. */
const char *procfile_next_field(const char *p);

/*
 * A hexadecimal number at *p of exactly `digits` digits (exact) or of 1
 * to `digits` digits (at most 16), advancing *p past it.  Returns 0, or
 * -EINVAL when there is none or its value does not fit in 32 bits.
 */
int procfile_hex(const char **p, size_t digits, bool exact, uint32_t *v);

/* A decimal number at *p fitting in 32 bits, advancing *p past it.
 * Returns 0 or -EINVAL. */
int procfile_dec(const char **p, uint32_t *v);

/* 0 when the field ends at p (a space, a tab, the end of the line or of
 * the string), else -EINVAL. */
int procfile_field_end(const char *p);

#endif
