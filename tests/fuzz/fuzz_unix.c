/* libFuzzer target: the UNIX decoders.  The first byte picks what the
 * rest is: 'p' one line of /proc/net/unix; anything else a buffer of
 * netlink messages of an AF_UNIX dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "source_netlink.h"
#include "source_unix.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The rest as a NUL-terminated line. */
static void one_line(const uint8_t *data, size_t n)
{
	unsigned char name[256];
	char *line = malloc(n + 1);
	struct sock_rec rec;
	size_t nlen = 0;

	if (!line)
		return;
	memcpy(line, data, n);
	line[n] = '\0';
	memset(&rec, 0, sizeof(rec));
	if (unix_parse_line(line, &rec, name, &nlen) == 1 &&
	    (rec.protocol != PROTO_UNIX || nlen > 255))
		abort();
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sock_table t;
	void *buf;
	int interrupted = 0;

	if (size < 1)
		return 0;
	if (data[0] == 'p') {
		one_line(data + 1, size - 1);
		return 0;
	}
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	table_init(&t);
	(void)netlink_decode_proto(buf, size - 1, 0, 0, PROTO_UNIX, &t, &interrupted);
	for (size_t i = 0; i < t.nsocks; i++) {
		const unsigned char *name;
		size_t len = table_path(&t, &t.socks[i], &name);

		if (t.socks[i].protocol != PROTO_UNIX || len > 108 ||
		    (len && name + len > t.paths + t.paths_len))
			abort();
	}
	table_free(&t);
	free(buf);
	return 0;
}
