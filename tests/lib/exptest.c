/*
 * The exporter under test (see exptest.h).
 */
#include "exptest.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "scenario.h"
#include "testlib.h"

#define EXPTEST_START_MS 30000

void exptest_start(struct bg_proc *p, int *port, const char *const pre[],
		   const char *const extra[])
{
	for (int attempt = 0; attempt < 5; attempt++) {
		const char *argv[48];
		char addr[32], *err;
		long long start, deadline;
		int n = 0;

		*port = free_port();
		ck_assert_int_gt(*port, 0);
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", *port);
		for (const char *const *w = pre; w && *w && n < 16; w++)
			argv[n++] = *w;
		argv[n++] = sockaudit_path();
		argv[n++] = "--listen";
		argv[n++] = addr;
		for (const char *const *w = extra; w && *w && n < 47; w++)
			argv[n++] = *w;
		argv[n] = NULL;
		ck_assert_int_eq(bg_start(p, argv, false), 0);
		start = test_now_ms();
		deadline = start + EXPTEST_START_MS;
		while (test_now_ms() < deadline) {
			if (port_open("127.0.0.1", *port))
				return;
			if (bg_exited(p))
				break;
			sleep_ms(20);
		}
		err = bg_stderr(p);
		if (!strstr(err, "Address already in use"))
			ck_abort_msg("exporter did not start (status %d after %lld ms): %s",
				     p->status, test_now_ms() - start, err);
		free(err);
		bg_stop(p, SIGKILL, 1000);
		bg_free(p);
	}
	ck_abort_msg("no free port for the exporter");
}
