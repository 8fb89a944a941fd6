/* libFuzzer target: the UDP decoders.  The first byte picks what the
 * rest is: '6' or '4' one line of /proc/net/udp6 or udp; anything else
 * a buffer of netlink messages of a UDP dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "source_netlink.h"
#include "source_udp.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The rest as a NUL-terminated line. */
static void one_line(const uint8_t *data, size_t n, int family)
{
	char *line = malloc(n + 1);
	struct sock_rec rec;

	if (!line)
		return;
	memcpy(line, data, n);
	line[n] = '\0';
	memset(&rec, 0, sizeof(rec));
	if (udp_parse_line(line, family, &rec) == 1 &&
	    (rec.family != family || rec.protocol != PROTO_UDP))
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
	if (data[0] == '6' || data[0] == '4') {
		one_line(data + 1, size - 1, data[0] == '6' ? AF_INET6 : AF_INET);
		return 0;
	}
	/* Exactly the bytes from malloc: ASan sees any read past them. */
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	table_init(&t);
	(void)netlink_decode_proto(buf, size - 1, 0, 0, PROTO_UDP, &t, &interrupted);
	for (size_t i = 0; i < t.nsocks; i++)
		if (t.socks[i].protocol != PROTO_UDP || t.nlisteners)
			abort();
	table_free(&t);
	free(buf);
	return 0;
}
