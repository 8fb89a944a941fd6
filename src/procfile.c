/*
 * Lines and fields of /proc/net text files (see procfile.h).
 */
#include "procfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int procfile_each_line(const char *path, int (*each)(const char *line, void *ctx),
		       void *ctx)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f)
		return -errno;
	for (;;) {
		errno = 0;
		if (getline(&line, &cap, f) <= 0) {
			/* Not the end of the file: a read or an allocation
			 * failed, and the rest of the lines with it. */
			if (!feof(f))
				rc = errno ? -errno : -EIO;
			break;
		}
		rc = each(line, ctx);
		if (rc < 0)
			break;
		rc = 0;
	}
	if (!rc && ferror(f))
		rc = -EIO;
	free(line);
	fclose(f);
	return rc;
}

int procfile_each_family(const char *proc_root, const char *name, bool v4,
			 bool v6,
			 int (*read_one)(const char *path, int family, void *ctx),
			 void *ctx)
{
	char path[4096];
	int rc;

	if (v4) {
		snprintf(path, sizeof(path), "%s/net/%s", proc_root, name);
		rc = read_one(path, AF_INET, ctx);
		if (rc)
			return rc;
	}
	if (v6) {
		snprintf(path, sizeof(path), "%s/net/%s6", proc_root, name);
		rc = read_one(path, AF_INET6, ctx);
		if (rc && !(rc == -ENOENT && v4))
			return rc;
	}
	return 0;
}

const char *procfile_next_field(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return (*p && *p != '\n') ? p : NULL;
}

int procfile_hex(const char **p, size_t digits, bool exact, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (digits > 16)
		digits = 16;
	for (i = 0; i < digits; i++) {
		char c = (*p)[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			break;
		x = x << 4 | d;
	}
	if (i == 0 || (exact && i != digits) || x > UINT32_MAX)
		return -EINVAL;
	*p += i;
	*v = (uint32_t)x;
	return 0;
}

int procfile_dec(const char **p, uint32_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; (*p)[i] >= '0' && (*p)[i] <= '9'; i++) {
		x = x * 10 + (unsigned)((*p)[i] - '0');
		if (x > UINT32_MAX)
			return -EINVAL;
	}
	if (i == 0)
		return -EINVAL;
	*p += i;
	*v = (uint32_t)x;
	return 0;
}

int procfile_field_end(const char *p)
{
	return (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\0') ? 0 : -EINVAL;
}
