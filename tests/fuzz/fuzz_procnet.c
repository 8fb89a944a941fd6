/* libFuzzer target: one line of /proc/net/tcp or /proc/net/tcp6.
 * The first byte picks the family ('6': AF_INET6, anything else: AF_INET),
 * the rest is the line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "source_procnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int family = data[0] == '6' ? AF_INET6 : AF_INET;
	size_t n = size - 1;
	char *line = malloc(n + 1);
	if (!line)
		return 0;
	memcpy(line, data + 1, n);
	line[n] = '\0';
	struct sock_rec rec;
	memset(&rec, 0, sizeof rec);
	int rc = procnet_parse_line(line, family, &rec);
	if (rc == 1 && rec.family != family)
		abort();
	free(line);
	return 0;
}
