/*
 * Source fallback: with sock_diag denied (tests/shim/no_netlink.c,
 * LD_PRELOAD), `--source auto` reads /proc/net/tcp* with one warning,
 * and `--source netlink` cannot run (status 3).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/scenario.h"
#include "lib/testlib.h"
#include "lib/runsuite.h"

static char preload[4200], asan[4200];
static const char *shim_env[3];

/* The environment that loads the shim.  Under ASan the runtime must
 * come first in the library list; the shim comes before it, so the
 * check is turned off (the shim itself is not instrumented). */
static void setup_env(void)
{
	const char *dir = test_env_dir("TEST_SHIMS", "build/tests/shim");
	const char *old = getenv("ASAN_OPTIONS");

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/no_netlink.so", dir);
	ck_assert_msg(access(preload + strlen("LD_PRELOAD="), R_OK) == 0,
		      "no shim at %s", preload + strlen("LD_PRELOAD="));
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 old ? old : "", old && *old ? ":" : "");
	shim_env[0] = preload;
	shim_env[1] = asan;
	shim_env[2] = NULL;
}

/* Without the shim the same host is read over netlink: what the other
 * tests see is the shim's doing. */
START_TEST(test_control_netlink)
{
	struct run_result r;
	cJSON *doc;

	run_sockaudit(&r, NULL, "-j", "-s", "listen", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(r.err_len == 0, "%s", run_describe(&r));
	doc = json_report(&r);
	ck_assert_str_eq(json_str(doc, "source"), auto_source());
	cJSON_Delete(doc);
	run_result_free(&r);
}
END_TEST

START_TEST(test_auto_falls_back_to_proc)
{
	struct scenario sc;
	struct run_result r;
	const cJSON *s, *p;
	const struct scen_sock *srv;
	char pids[64];
	cJSON *doc;

	setup_env();
	scenario_start(&sc, SCEN_IDLE, AF_INET, "fback");
	srv = scenario_sock(&sc, ROLE_SERVER_CONN);
	ck_assert_ptr_nonnull(srv);
	snprintf(pids, sizeof(pids), "%d,%d", (int)sc.pids[PROC_SERVER],
		 (int)sc.pids[PROC_CLIENT]);

	run_sockaudit(&r, shim_env, "-j", "--idle", "0", "--pid", pids, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines(r.err) == 1, "not one warning: %s", run_describe(&r));
	ck_assert_msg(!strncmp(r.err, "sockaudit: ", 11), "%s", run_describe(&r));
	ck_assert_msg(count_lines_containing(r.err, "netlink") == 1,
		      "the warning does not mention netlink: %s", run_describe(&r));
	doc = json_report(&r);
	json_check_report_shape(doc);
	ck_assert_str_eq(json_str(doc, "source"), "proc");
	/* The same sockets, owners and all, but no tcp_info: even with a
	 * zero threshold nothing is idle. */
	ck_assert_int_eq(cJSON_GetArraySize(json_array(doc, "sockets")), 3);
	s = json_socket_by_inode(doc, srv->inode);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(json_str(s, "state"), "established");
	ck_assert_int_eq(json_int(s, "local_port"), srv->lport);
	ck_assert_int_eq(json_int(s, "remote_port"), srv->rport);
	ck_assert(json_is_null(s, "last_recv_ms"));
	ck_assert(json_is_null(s, "last_send_ms"));
	ck_assert(json_is_null(s, "idle_ms"));
	ck_assert_int_eq(json_flag_count(s), 0);
	p = json_socket_process(s, sc.pids[PROC_SERVER]);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_int(p, "fd"), srv->fd);
	ck_assert_int_eq(json_int(json_object(doc, "totals"), "idle"), 0);
	cJSON_Delete(doc);
	run_result_free(&r);

	/* The table: the same single warning, the report on stdout. */
	run_sockaudit(&r, shim_env, "--list", "--pid", pids, NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines(r.err) == 1 && !strncmp(r.err, "sockaudit: ", 11),
		      "not one warning: %s", run_describe(&r));
	ck_assert_msg(strstr(r.out, itoa_tmp(sc.port)) != NULL, "%s", run_describe(&r));
	run_result_free(&r);
	scenario_stop(&sc);
}
END_TEST

START_TEST(test_netlink_required)
{
	struct run_result r;

	setup_env();
	run_sockaudit(&r, shim_env, "-j", "--source", "netlink", NULL);
	ck_assert_msg(r.status == 3, "%s", run_describe(&r));
	ck_assert_msg(r.out_len == 0, "stdout not empty: %s", run_describe(&r));
	ck_assert_msg(r.err_len > 0 && all_lines_start_with(r.err, "sockaudit: "),
		      "%s", run_describe(&r));
	ck_assert_msg(count_lines_containing(r.err, "netlink") +
			      count_lines_containing(r.err, "sock_diag") > 0,
		      "the error does not say what failed: %s", run_describe(&r));
	run_result_free(&r);

	/* Same in table format. */
	run_sockaudit(&r, shim_env, "--source", "netlink", NULL);
	ck_assert_msg(r.status == 3, "%s", run_describe(&r));
	ck_assert_msg(r.out_len == 0, "stdout not empty: %s", run_describe(&r));
	run_result_free(&r);
}
END_TEST

START_TEST(test_proc_explicit)
{
	struct run_result r;
	cJSON *doc;

	setup_env();
	run_sockaudit(&r, shim_env, "-j", "--source", "proc", NULL);
	ck_assert_msg(r.status == 0, "%s", run_describe(&r));
	ck_assert_msg(count_lines(r.err) <= 1 && all_lines_start_with(r.err, "sockaudit: "),
		      "%s", run_describe(&r));
	doc = json_report(&r);
	ck_assert_str_eq(json_str(doc, "source"), "proc");
	json_check_report_shape(doc);
	cJSON_Delete(doc);
	run_result_free(&r);
}
END_TEST

static Suite *fallback_suite(void)
{
	Suite *s = suite_create("fallback");
	TCase *tc = tcase_create("no sock_diag");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, scenario_cleanup_all);
	tcase_add_test(tc, test_control_netlink);
	tcase_add_test(tc, test_auto_falls_back_to_proc);
	tcase_add_test(tc, test_netlink_required);
	tcase_add_test(tc, test_proc_explicit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(fallback_suite());
}
