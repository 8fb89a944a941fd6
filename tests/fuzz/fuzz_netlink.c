/* libFuzzer target: a buffer of netlink messages as read from a
 * NETLINK_SOCK_DIAG socket, decoded into a fresh table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source_netlink.h"
#include "table.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly `size` bytes from malloc (16-byte aligned, so netlink's
	 * 4-byte alignment holds): ASan reports any read past the end. */
	void *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	struct sock_table t;
	table_init(&t);
	int interrupted = 0;
	int rc = netlink_decode(buf, size, 0, 0, &t, &interrupted);
	(void)rc;
	for (size_t i = 0; i < t.nsocks; i++)
		if (t.socks[i].family != 2 && t.socks[i].family != 10)
			abort(); /* decoded a record of a bad family */
	table_free(&t);
	free(buf);
	return 0;
}
