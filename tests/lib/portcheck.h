/*
 * Whether a local TCP port is taken by any socket the kernel lists in
 * /proc/net/tcp or /proc/net/tcp6 (any address, any state, TIME-WAIT
 * included).  Header-only: the helper programs in tests/progs are built
 * from one file each.
 *
 * Why: bind() to 127.0.0.1 with port 0 may return a port that a socket
 * on another address already has (an IPv6 client of [::1], a TIME-WAIT
 * socket left by an earlier test).  A test that selects its listener's
 * sockets with --port would then count that stranger too.  Listeners
 * call this after bind() and before listen() (a bound socket is not yet
 * listed) and take another port when it says true.
 */
#ifndef TESTS_PORTCHECK_H
#define TESTS_PORTCHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static inline bool port_taken_elsewhere(int port)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	bool taken = false;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && !taken; i++) {
		FILE *f = fopen(files[i], "r");
		char line[512];

		if (!f)
			continue;
		/* "  sl  local_address rem_address st ...": ADDR:PORT in hex. */
		while (!taken && fgets(line, sizeof(line), f)) {
			char local[64];
			unsigned p;
			const char *colon;

			if (sscanf(line, "%*s %63s", local) != 1)
				continue;
			colon = strrchr(local, ':');
			if (colon && sscanf(colon + 1, "%x", &p) == 1 && (int)p == port)
				taken = true;
		}
		fclose(f);
	}
	return taken;
}

#endif
