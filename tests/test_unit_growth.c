/*
 * Unit tests for growth.c: slopes, deltas and the leaking rule on
 * synthetic samples with known answers (computed by hand below), and
 * the bounded memory of a long watch.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"
#include "table.h"
#include "lib/runsuite.h"

/* A one-group audit: server port `port` with `n` sockets. */
struct one_sample {
	struct audit a;
	struct group g[2];
};

static void server_group(struct group *g, uint16_t port, uint32_t n)
{
	memset(g, 0, sizeof(*g));
	g->side = SIDE_SERVER;
	g->port = port;
	g->n.sockets = n;
}

static void audit_of(struct one_sample *s, const struct group *groups,
		     size_t ngroups)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->g, groups, ngroups * sizeof(*groups));
	s->a.groups = s->g;
	s->a.ngroups = ngroups;
}

/* Feed (time in seconds, count; -1 = group absent) for port 8080 and
 * return the rates after the last sample in *out. */
static void run_series(const double *t, const long *y, size_t n,
		       struct group_growth *out, struct growth *g)
{
	struct sock_table tab;
	size_t i;

	table_init(&tab);
	growth_init(g);
	for (i = 0; i < n; i++) {
		struct one_sample s;
		struct group grp;
		struct group_growth gg[1];

		memset(gg, 0, sizeof(gg));
		server_group(&grp, 8080, y[i] < 0 ? 0 : (uint32_t)y[i]);
		audit_of(&s, &grp, y[i] < 0 ? 0 : 1);
		ck_assert_int_eq(growth_add(g, &tab, &s.a, 1000.0 + t[i], gg, NULL), 0);
		if (y[i] >= 0)
			*out = gg[0];
	}
	table_free(&tab);
}

struct series_row {
	const char *name;
	size_t n;
	double t[8];
	long y[8];
	double per_min;	 /* expected slope */
	long delta;	 /* last - first */
	bool leaking;
};

static const struct series_row rows[] = {
	/* 5 a second: 300 a minute; 5 samples, never fell, rose. */
	{ "linear", 5, { 0, 1, 2, 3, 4 }, { 0, 5, 10, 15, 20 }, 300, 20, true },
	/* The same with only 4 samples: not yet leaking. */
	{ "four samples", 4, { 0, 1, 2, 3 }, { 0, 5, 10, 15 }, 300, 15, false },
	/* Uneven sample times, about 2 a second: the slope uses the real
	 * times (checked against the formula below, and an exact line in
	 * test_uneven_times_known_slope). */
	{ "uneven times", 5, { 0, 0.5, 2, 2.1, 5 }, { 0, 1, 4, 4, 10 }, 0, 10, true },
	/* A steady pool: slope 0, not leaking. */
	{ "steady", 6, { 0, 1, 2, 3, 4, 5 }, { 10, 10, 10, 10, 10, 10 }, 0, 0, false },
	/* One dip: rising overall but it fell once: not leaking.  Slope by
	 * hand: t = 0..4 (mean 2), y = 0,5,4,10,15 (mean 6.8);
	 * sum (t-2)(y-6.8) = 13.6+1.8+0+3.2+16.4 = 35, sum (t-2)^2 = 10:
	 * 3.5 a second, 210 a minute. */
	{ "one dip", 5, { 0, 1, 2, 3, 4 }, { 0, 5, 4, 10, 15 }, 210, 15, false },
	/* Appears at sample 2: it was 0 before, then 3 a second; present
	 * in 3 samples only: not yet leaking (a new peer is no leak). */
	{ "appears late", 5, { 0, 1, 2, 3, 4 }, { -1, -1, 3, 6, 9 }, 0, 9, false },
	/* The same, present in 5 samples: leaking. */
	{ "late, 5 present", 7, { 0, 1, 2, 3, 4, 5, 6 }, { -1, -1, 3, 6, 9, 12, 15 }, 0, 15,
	  true },
	/* Gone for one sample, then back: it fell to 0, not leaking. */
	{ "gap", 6, { 0, 1, 2, 3, 4, 5 }, { 1, 2, -1, 4, 5, 6 }, 0, 5, false },
};

START_TEST(test_series_rows)
{
	const struct series_row *r = &rows[_i];
	struct group_growth out;
	struct growth g;
	double want = r->per_min;

	memset(&out, 0, sizeof(out));
	run_series(r->t, r->y, r->n, &out, &g);
	/* Rows with 0 get the exact least-squares slope computed here. */
	if (want == 0 && strcmp(r->name, "steady") != 0) {
		double st = 0, sy = 0, sty = 0, stt = 0, n = (double)r->n;
		size_t i;

		for (i = 0; i < r->n; i++) {
			double t = r->t[i] / 60, y = r->y[i] < 0 ? 0 : (double)r->y[i];

			st += t, sy += y, sty += t * y, stt += t * t;
		}
		want = (n * sty - st * sy) / (n * stt - st * st);
	}
	ck_assert_msg(fabs(out.sockets_per_min - want) < 1e-6,
		      "%s: slope %.6f, want %.6f", r->name, out.sockets_per_min, want);
	ck_assert_msg(out.delta == r->delta, "%s: delta %lld, want %ld", r->name,
		      (long long)out.delta, r->delta);
	ck_assert_msg(out.leaking == r->leaking, "%s: leaking %d, want %d", r->name,
		      out.leaking, r->leaking);
	growth_free(&g);
}
END_TEST

/* The uneven-times row really is 120 a minute (y = 2 t, exactly on the
 * line): the generic formula above is checked against a known value. */
START_TEST(test_uneven_times_known_slope)
{
	const double t[] = { 0, 0.5, 2, 2.5, 5 };
	const long y[] = { 0, 1, 4, 5, 10 };
	struct group_growth out;
	struct growth g;

	run_series(t, y, 5, &out, &g);
	ck_assert(fabs(out.sockets_per_min - 120) < 1e-9);
	growth_free(&g);
}
END_TEST

/* A steady count has a slope of exactly 0 whatever the sample times:
 * --max-growth 0 must pass on a steady pool, so no rounding residue of
 * the sums may be judged above 0. */
START_TEST(test_steady_exactly_zero)
{
	double t[12];
	long y[12];
	struct group_growth out;
	struct growth g;
	int i;

	for (i = 0; i < 12; i++) {
		t[i] = 0.2513 * i + 0.0007 * (i % 3);
		y[i] = 37;
	}
	run_series(t, y, 12, &out, &g);
	ck_assert_msg(out.sockets_per_min == 0.0, "steady slope %.17g",
		      out.sockets_per_min);
	growth_free(&g);
}
END_TEST

/* delta_prev is the change since the sample before, 0 in sample 0. */
START_TEST(test_delta_prev)
{
	const double t[] = { 0, 1, 2 };
	const long y[] = { 4, 9, 7 };
	struct group_growth out;
	struct growth g;

	run_series(t, y, 1, &out, &g);
	ck_assert_int_eq(out.delta_prev, 0);
	growth_free(&g);
	run_series(t, y, 3, &out, &g);
	ck_assert_int_eq(out.delta_prev, -2);
	ck_assert_int_eq(out.delta, 3);
	growth_free(&g);
}
END_TEST

/* Processes: descriptors 10, 20, 30 a minute apart, limit 100: 10 a
 * minute, 7 minutes to the limit. */
START_TEST(test_process_fds)
{
	struct sock_table tab;
	struct growth g;
	uint32_t idx;
	int i;

	table_init(&tab);
	growth_init(&g);
	idx = table_add_proc(&tab, 77, "leaky", 5);
	ck_assert_uint_ne(idx, NO_INDEX);
	for (i = 0; i < 3; i++) {
		struct audit a;
		struct proc_growth pg[1];

		memset(&a, 0, sizeof(a));
		a.procs = &idx;
		a.nprocs = 1;
		tab.procs[idx].fds = 10u + 10u * (uint32_t)i;
		tab.procs[idx].fd_limit = 100;
		tab.procs[idx].has_fd_limit = 1;
		ck_assert_int_eq(growth_add(&g, &tab, &a, 60.0 * i, NULL, pg), 0);
		if (i == 2) {
			ck_assert(fabs(pg[0].fds_per_min - 10) < 1e-9);
			ck_assert(fabs(pg[0].minutes_to_limit - 7) < 1e-9);
			ck_assert_int_eq(pg[0].fds_delta, 20);
			ck_assert_uint_eq(pg[0].samples, 3);
		}
	}
	/* Unlimited: no estimate. */
	{
		struct audit a;
		struct proc_growth pg[1];

		memset(&a, 0, sizeof(a));
		a.procs = &idx;
		a.nprocs = 1;
		tab.procs[idx].fds = 40;
		tab.procs[idx].fd_limit = FD_LIMIT_NONE;
		ck_assert_int_eq(growth_add(&g, &tab, &a, 180.0, NULL, pg), 0);
		ck_assert(pg[0].fds_per_min > 0);
		ck_assert(pg[0].minutes_to_limit < 0);
	}
	growth_free(&g);
	table_free(&tab);
}
END_TEST

/* A PID reused by a process of another name starts its rates over. */
START_TEST(test_process_pid_reused)
{
	struct sock_table tab;
	struct growth g;
	uint32_t idx;
	int i;

	table_init(&tab);
	growth_init(&g);
	idx = table_add_proc(&tab, 88, "first", 5);
	ck_assert_uint_ne(idx, NO_INDEX);
	for (i = 0; i < 4; i++) {
		struct audit a;
		struct proc_growth pg[1];

		memset(&a, 0, sizeof(a));
		a.procs = &idx;
		a.nprocs = 1;
		if (i == 2) { /* the PID now names another program */
			memcpy(tab.procs[idx].comm, "other", 5);
		}
		tab.procs[idx].fds = i < 2 ? 100u + 50u * (uint32_t)i : 10u;
		ck_assert_int_eq(growth_add(&g, &tab, &a, 60.0 * i, NULL, pg), 0);
		if (i == 1)
			ck_assert_int_eq(pg[0].fds_delta, 50);
		if (i == 3) {
			ck_assert_uint_eq(pg[0].samples, 2);
			ck_assert_int_eq(pg[0].fds_delta, 0);
			ck_assert(pg[0].fds_per_min == 0);
		}
	}
	growth_free(&g);
	table_free(&tab);
}
END_TEST

/*
 * A process first seen late in a long watch: its rate is a slope over
 * its own samples, close together and far from sample 0.  Found by
 * fuzz_growth: sums of t and t*t from sample 0 cancelled (n*stt - st*st
 * for t near 43,200 minutes and 0.0017 apart lost all but 2 digits).
 */
struct late_row {
	const char *name;
	double first_s; /* when the process is first seen, seconds after 0 */
	double gap_s;	/* between its two samples */
	uint32_t fds[2];
	double per_min;
};

static const struct late_row late_rows[] = {
	{ "30 days in, 100 ms apart", 30 * 86400.0, 0.1, { 10, 11 }, 600 },
	{ "10 days in, 1 s apart", 10 * 86400.0, 1, { 1000, 1010 }, 600 },
	{ "a year in, 10 ms apart", 365 * 86400.0, 0.01, { 5, 6 }, 6000 },
};

START_TEST(test_process_late_rate)
{
	const struct late_row *r = &late_rows[_i];
	struct sock_table tab;
	struct growth g;
	struct audit a;
	struct proc_growth pg[1];
	uint32_t idx;
	int i;

	table_init(&tab);
	growth_init(&g);
	idx = table_add_proc(&tab, 99, "late", 4);
	ck_assert_uint_ne(idx, NO_INDEX);
	memset(&a, 0, sizeof(a));
	/* Sample 0 without it, on a clock far from 0. */
	ck_assert_int_eq(growth_add(&g, &tab, &a, 5e6, NULL, NULL), 0);
	a.procs = &idx;
	a.nprocs = 1;
	for (i = 0; i < 2; i++) {
		tab.procs[idx].fds = r->fds[i];
		ck_assert_int_eq(growth_add(&g, &tab, &a, 5e6 + r->first_s + i * r->gap_s,
					    NULL, pg), 0);
	}
	ck_assert_msg(fabs(pg[0].fds_per_min - r->per_min) < 1e-6 * r->per_min,
		      "%s: %.9g fds per minute, not %.9g", r->name,
		      pg[0].fds_per_min, r->per_min);
	growth_free(&g);
	table_free(&tab);
}
END_TEST

/* The fastest group is named for --max-growth; none before 2 samples. */
START_TEST(test_fastest)
{
	struct sock_table tab;
	struct growth g;
	struct group grp[2], fastest;
	const unsigned char *fname;
	size_t fname_len;
	double rate = -1;
	int i;

	table_init(&tab);
	growth_init(&g);
	for (i = 0; i < 3; i++) {
		struct one_sample s;

		server_group(&grp[0], 80, 5);			/* steady */
		server_group(&grp[1], 443, 2u * (uint32_t)i);	/* 2 a minute */
		audit_of(&s, grp, 2);
		ck_assert_int_eq(growth_add(&g, &tab, &s.a, 60.0 * i, NULL, NULL), 0);
		if (i == 0)
			ck_assert(!growth_fastest(&g, &fastest, &fname, &fname_len, &rate));
	}
	ck_assert(growth_fastest(&g, &fastest, &fname, &fname_len, &rate));
	ck_assert_int_eq(fastest.port, 443);
	ck_assert(fabs(rate - 2) < 1e-9);
	ck_assert(fname == NULL && fname_len == 0);
	growth_free(&g);
	table_free(&tab);
}
END_TEST

/*
 * The UNIX and UDP flags grow like close_wait: a UNIX client group of
 * /run/a.sock whose peer_closed sockets rise 3 a minute (sockets 4 a
 * minute), a UDP server group on port 53 whose dropping sockets rise 1
 * a minute.  The fastest is the UNIX group, named by its path (the
 * bytes, kept by growth.c after the sample's table is gone).
 */
START_TEST(test_kind_flags)
{
	static const char path[] = "/run/a\x01.sock";
	struct sock_table tab;
	struct sock_rec *r;
	struct growth g;
	struct group grp[2], fastest;
	struct group_growth gg[2];
	const unsigned char *fname;
	size_t fname_len;
	double rate = -1;
	uint32_t i;

	table_init(&tab);
	growth_init(&g);
	r = table_add_sock(&tab);
	ck_assert_ptr_nonnull(r);
	r->protocol = PROTO_UNIX;
	ck_assert_int_eq(table_set_path(&tab, r, path, sizeof(path) - 1), 0);
	for (i = 0; i < 5; i++) {
		struct one_sample s;

		memset(grp, 0, sizeof(grp));
		grp[0].side = SIDE_CLIENT;
		grp[0].protocol = PROTO_UNIX;
		grp[0].path = tab.socks[0].ux.path;
		grp[0].n.sockets = 4 * i;
		grp[0].n.peer_closed = 3 * i;
		server_group(&grp[1], 53, 10);
		grp[1].protocol = PROTO_UDP;
		grp[1].n.dropping = i;
		audit_of(&s, grp, 2);
		ck_assert_int_eq(growth_add(&g, &tab, &s.a, 60.0 * i, gg, NULL), 0);
	}
	ck_assert(fabs(gg[0].sockets_per_min - 4) < 1e-9);
	ck_assert(fabs(gg[0].peer_closed_per_min - 3) < 1e-9);
	ck_assert(gg[0].dropping_per_min == 0 && gg[0].close_wait_per_min == 0);
	ck_assert(gg[1].sockets_per_min == 0 && gg[1].peer_closed_per_min == 0);
	ck_assert(fabs(gg[1].dropping_per_min - 1) < 1e-9);
	ck_assert(growth_fastest(&g, &fastest, &fname, &fname_len, &rate));
	ck_assert_int_eq(fastest.protocol, PROTO_UNIX);
	ck_assert_int_eq(fastest.side, SIDE_CLIENT);
	ck_assert_uint_eq(fname_len, sizeof(path) - 1);
	ck_assert(!memcmp(fname, path, fname_len));
	ck_assert(fabs(rate - 4) < 1e-9);
	growth_free(&g);
	table_free(&tab);
}
END_TEST

/* A long watch of the same groups tracks them once: memory does not
 * grow with the number of samples. */
START_TEST(test_many_samples_bounded)
{
	struct sock_table tab;
	struct growth g;
	struct group grp[3];
	size_t cap_after_first = 0;
	int i;

	table_init(&tab);
	growth_init(&g);
	for (i = 0; i < 20000; i++) {
		struct one_sample s;

		server_group(&grp[0], 80, (uint32_t)(i % 7));
		server_group(&grp[1], 443, 3);
		grp[2] = grp[1];
		grp[2].side = SIDE_CLIENT;
		grp[2].family = 2;
		grp[2].raddr[0] = 10;
		audit_of(&s, grp, 2);
		s.g[1] = grp[2]; /* alternate which groups are present */
		if (i % 2)
			s.g[1] = grp[1];
		ck_assert_int_eq(growth_add(&g, &tab, &s.a, 0.25 * i, NULL, NULL), 0);
		if (i == 10)
			cap_after_first = g.groups_cap;
	}
	ck_assert_uint_eq(g.ngroups, 3);
	ck_assert_uint_eq(g.groups_cap, cap_after_first);
	ck_assert_uint_eq(g.samples, 20000);
	growth_free(&g);
	table_free(&tab);
}
END_TEST

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *growth_suite(void)
{
	Suite *s = suite_create("growth");
	TCase *tc = tcase_create("rates");

	tcase_add_loop_test(tc, test_series_rows, 0, NROWS(rows));
	tcase_add_test(tc, test_uneven_times_known_slope);
	tcase_add_test(tc, test_delta_prev);
	tcase_add_test(tc, test_steady_exactly_zero);
	tcase_add_test(tc, test_process_fds);
	tcase_add_test(tc, test_fastest);
	tcase_add_test(tc, test_kind_flags);
	tcase_add_test(tc, test_process_pid_reused);
	tcase_add_loop_test(tc, test_process_late_rate, 0, NROWS(late_rows));
	tcase_add_test(tc, test_many_samples_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(growth_suite());
}
