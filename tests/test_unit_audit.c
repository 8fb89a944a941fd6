/*
 * Unit tests for audit.h: the flag rules, selection, grouping, totals
 * and group order, on hand-made socket tables.  The rules are the
 * contract's (interface.md, "Flags" and "Groups").
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "audit.h"
#include "workload.h"
#include "table.h"
#include "lib/runsuite.h"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define T 60000u /* the idle threshold of most tests */
#define EPH 32768 /* first ephemeral port */

/* ---- audit_flags_of ------------------------------------------------ */

struct flag_row {
	int state;
	int origin;
	int has_times;
	uint32_t recv_q, last_recv, last_send, idle_ms;
	unsigned want;
};

#define CW FLAG_CLOSE_WAIT
#define IDLE FLAG_IDLE
#define STALLED FLAG_STALLED
#define DEAD FLAG_DEAD
#define K ORIGIN_KERNEL

static const struct flag_row flag_rows[] = {
	/* idle: ESTABLISHED, both times >= threshold */
	{ ST_ESTABLISHED, K, 1, 0, T, T, T, IDLE },
	{ ST_ESTABLISHED, K, 1, 0, T - 1, T, T, 0 },
	{ ST_ESTABLISHED, K, 1, 0, T, T - 1, T, 0 },
	{ ST_ESTABLISHED, K, 1, 0, T + 1, UINT32_MAX, T, IDLE },
	{ ST_ESTABLISHED, K, 1, 0, 0, 0, T, 0 },
	/* without tcp_info, never idle or stalled */
	{ ST_ESTABLISHED, K, 0, 0, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_ESTABLISHED, K, 0, 5, UINT32_MAX, UINT32_MAX, T, 0 },
	/* stalled: unread bytes and nothing received for the threshold */
	{ ST_ESTABLISHED, K, 1, 1, T, 0, T, STALLED },
	{ ST_ESTABLISHED, K, 1, 1, T - 1, 0, T, 0 },
	{ ST_ESTABLISHED, K, 1, 0, T, 0, T, 0 },
	{ ST_ESTABLISHED, K, 1, 1, T, T, T, IDLE | STALLED },
	{ ST_ESTABLISHED, K, 1, 100000, UINT32_MAX, 5, T, STALLED },
	/* CLOSE-WAIT: always close_wait; stalled only past the FIN byte */
	{ ST_CLOSE_WAIT, K, 0, 0, 0, 0, T, CW },
	{ ST_CLOSE_WAIT, K, 0, 100, UINT32_MAX, UINT32_MAX, T, CW },
	{ ST_CLOSE_WAIT, K, 1, 0, T, T, T, CW },
	{ ST_CLOSE_WAIT, K, 1, 1, T, T, T, CW },
	{ ST_CLOSE_WAIT, K, 1, 1, UINT32_MAX, UINT32_MAX, T, CW },
	{ ST_CLOSE_WAIT, K, 1, 2, T, 0, T, CW | STALLED },
	{ ST_CLOSE_WAIT, K, 1, 2, T - 1, 0, T, CW },
	/* no other state is idle or stalled, whatever its times and queue */
	{ ST_LISTEN, K, 1, 5, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_SYN_SENT, K, 1, 0, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_SYN_RECV, K, 1, 3, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_FIN_WAIT1, K, 1, 3, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_FIN_WAIT2, K, 1, 3, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_TIME_WAIT, K, 0, 0, 0, 0, T, 0 },
	{ ST_CLOSE, K, 1, 3, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_LAST_ACK, K, 1, 3, UINT32_MAX, UINT32_MAX, T, 0 },
	{ ST_CLOSING, K, 1, 3, UINT32_MAX, UINT32_MAX, T, 0 },
	/* dead: a descriptor the kernel did not dump */
	{ ST_CLOSE, ORIGIN_FD, 0, 0, 0, 0, T, DEAD },
	/* threshold 0: every ESTABLISHED socket with times is idle */
	{ ST_ESTABLISHED, K, 1, 0, 0, 0, 0, IDLE },
	{ ST_ESTABLISHED, K, 1, 1, 0, 0, 0, IDLE | STALLED },
	{ ST_ESTABLISHED, K, 0, 1, 0, 0, 0, 0 },
	/* the largest threshold */
	{ ST_ESTABLISHED, K, 1, 1, 2147483647u, 2147483647u, 2147483647u,
	  IDLE | STALLED },
	{ ST_ESTABLISHED, K, 1, 1, 2147483646u, 2147483647u, 2147483647u, 0 },
};

START_TEST(test_flags_of_rows)
{
	const struct flag_row *r = &flag_rows[_i];
	struct sock_rec s;
	unsigned got;

	memset(&s, 0, sizeof(s));
	s.family = AF_INET;
	s.state = (uint8_t)r->state;
	s.origin = (uint8_t)r->origin;
	s.has_times = (uint8_t)r->has_times;
	s.has_local = r->origin != ORIGIN_FD;
	s.recv_q = r->recv_q;
	s.last_recv_ms = r->last_recv;
	s.last_send_ms = r->last_send;
	s.owners = NO_INDEX;
	s.group = NO_INDEX;
	got = audit_flags_of(&s, r->idle_ms);
	ck_assert_msg(got == r->want, "row %d: flags %#x, want %#x", _i, got, r->want);
}
END_TEST

/* ---- building tables ----------------------------------------------- */

struct sk {
	int family;
	int state;
	const char *laddr; /* NULL: unknown (dead socket) */
	uint16_t lport;
	const char *raddr;
	uint16_t rport;
	uint32_t inode;
	uint32_t recv_q;
	int has_times;
	uint32_t last_recv, last_send;
	int origin;
};

static uint32_t add_sock(struct sock_table *t, const struct sk *k)
{
	struct sock_rec *r = table_add_sock(t);

	ck_assert_ptr_nonnull(r);
	r->family = (uint8_t)k->family;
	r->state = (uint8_t)k->state;
	r->origin = (uint8_t)k->origin;
	r->has_local = k->laddr != NULL;
	if (k->laddr)
		ck_assert_int_eq(inet_pton(k->family, k->laddr, r->laddr), 1);
	r->lport = k->lport;
	if (k->raddr)
		ck_assert_int_eq(inet_pton(k->family, k->raddr, r->raddr), 1);
	r->rport = k->rport;
	r->inode = k->inode;
	r->recv_q = k->recv_q;
	r->has_times = (uint8_t)k->has_times;
	r->last_recv_ms = k->last_recv;
	r->last_send_ms = k->last_send;
	if (k->state == ST_LISTEN)
		ck_assert_int_eq(table_mark_listener(t, k->lport), 0);
	return (uint32_t)(t->nsocks - 1);
}

/*
 * The fixture.  With ephemeral_low 32768 and the threshold T:
 *   server 40000 (a listener, IPv6 only, makes IPv4 and IPv6 server-side)
 *     100 LISTEN [::]:40000
 *     101 ESTAB 127.0.0.1:40000 <- 127.0.0.1:50001        (pid 200)
 *     102 CLOSE-WAIT 127.0.0.1:40000 <- :50002   close_wait (pid 200 and 300)
 *     103 ESTAB [::1]:40000 <- [::1]:50003        idle      (pid 200)
 *   server 22 (below the ephemeral range, no listener)
 *     104 ESTAB 10.0.0.1:22 <- 10.0.0.9:51000     stalled   (pid 100)
 *   server 32767 (one below the range)
 *     105 ESTAB 10.0.0.1:32767 <- 10.0.0.9:51001            (no owner)
 *   client 10.0.0.5:443
 *     106 ESTAB 10.0.0.1:32768 -> 10.0.0.5:443 (first ephemeral: client)
 *     107 ESTAB 10.0.0.1:50000 -> 10.0.0.5:443    idle      (both pid 100)
 *   client [2001:db8::5]:443
 *     108 ESTAB [2001:db8::1]:50001 -> [2001:db8::5]:443    (no owner)
 *   process 200
 *     109 dead IPv4, held by 200 and 300
 *     110 dead IPv6, held by 200
 *   process 300
 *     111 dead IPv4, held by 300
 * The processes are added to the table out of PID order: 300, 200, 100.
 */
static const struct sk fixture[] = {
	{ AF_INET6, ST_LISTEN, "::", 40000, "::", 0, 100, 0, 1, 0, 0, K },
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", 40000, "127.0.0.1", 50001, 101, 0,
	  1, 10, 10, K },
	{ AF_INET, ST_CLOSE_WAIT, "127.0.0.1", 40000, "127.0.0.1", 50002, 102, 1,
	  1, 70000, 70000, K },
	{ AF_INET6, ST_ESTABLISHED, "::1", 40000, "::1", 50003, 103, 0, 1, T, T,
	  K },
	{ AF_INET, ST_ESTABLISHED, "10.0.0.1", 22, "10.0.0.9", 51000, 104, 10, 1,
	  90000, 5, K },
	{ AF_INET, ST_ESTABLISHED, "10.0.0.1", EPH - 1, "10.0.0.9", 51001, 105, 0,
	  1, 0, 0, K },
	{ AF_INET, ST_ESTABLISHED, "10.0.0.1", EPH, "10.0.0.5", 443, 106, 0, 1,
	  T - 1, T, K },
	{ AF_INET, ST_ESTABLISHED, "10.0.0.1", 50000, "10.0.0.5", 443, 107, 0, 1,
	  T + 1, T + 1, K },
	{ AF_INET6, ST_ESTABLISHED, "2001:db8::1", 50001, "2001:db8::5", 443, 108,
	  0, 0, 0, 0, K },
	{ AF_INET, ST_CLOSE, NULL, 0, NULL, 0, 109, 0, 0, 0, 0, ORIGIN_FD },
	{ AF_INET6, ST_CLOSE, NULL, 0, NULL, 0, 110, 0, 0, 0, 0, ORIGIN_FD },
	{ AF_INET, ST_CLOSE, NULL, 0, NULL, 0, 111, 0, 0, 0, 0, ORIGIN_FD },
};

enum { P300, P200, P100 }; /* proc indices */

/* Owners in scan order: ascending PID, then fd (owners.c). */
static const struct {
	uint32_t inode;
	int proc;
	int fd;
} owners[] = {
	{ 101, P200, 4 }, { 102, P200, 5 }, { 103, P200, 6 }, { 100, P200, 3 },
	{ 109, P200, 10 }, { 110, P200, 11 }, { 102, P300, 9 },
	{ 109, P300, 12 }, { 111, P300, 13 }, { 104, P100, 7 },
	{ 106, P100, 8 },  { 107, P100, 9 },
};

static void build_fixture(struct sock_table *t)
{
	size_t i;

	table_init(t);
	for (i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++)
		add_sock(t, &fixture[i]);
	ck_assert_uint_eq(table_add_proc(t, 300, "worker", 6), P300);
	ck_assert_uint_eq(table_add_proc(t, 200, "server", 6), P200);
	ck_assert_uint_eq(table_add_proc(t, 100, "client", 6), P100);
	ck_assert_int_eq(table_index(t), 0);
	/* 100 before 200 before 300 per socket: add by ascending PID. */
	for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		if (owners[i].proc != P100)
			continue;
		ck_assert_int_eq(table_add_owner(t, table_find(t, owners[i].inode),
						 (uint32_t)owners[i].proc,
						 owners[i].fd),
				 0);
	}
	for (i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		if (owners[i].proc == P100)
			continue;
		ck_assert_int_eq(table_add_owner(t, table_find(t, owners[i].inode),
						 (uint32_t)owners[i].proc,
						 owners[i].fd),
				 0);
	}
}

static void default_opts(struct audit_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->idle_ms = T;
	o->states = STATES_ALL;
	o->flags = 0;
	o->families = FAMILY_BOTH;
	o->ports = NULL;
	o->rports = NULL;
	o->by_pid = false;
	o->ephemeral_low = EPH;
}

static const struct sock_rec *sock_of(const struct sock_table *t, uint32_t inode)
{
	uint32_t i = table_find(t, inode);

	ck_assert_msg(i != NO_INDEX, "no socket %u", inode);
	return &t->socks[i];
}

static const struct group *group_of(const struct sock_table *t,
				    const struct audit *a, uint32_t inode)
{
	const struct sock_rec *s = sock_of(t, inode);

	ck_assert_msg(s->selected, "socket %u not selected", inode);
	ck_assert_msg(s->group < a->ngroups, "socket %u: group %u of %zu", inode,
		      s->group, a->ngroups);
	return &a->groups[s->group];
}

/* Consistency every audit must have, whatever was selected. */
static void check_invariants(const struct sock_table *t, const struct audit *a,
			     const struct audit_opts *o)
{
	struct counts sum;
	unsigned char *seen;
	size_t i, j, n = 0;

	memset(&sum, 0, sizeof(sum));
	ck_assert_uint_eq(a->idle_ms, o->idle_ms);
	for (i = 0; i < t->nsocks; i++)
		n += t->socks[i].selected != 0;
	ck_assert_uint_eq(a->nselected, n);
	ck_assert_uint_eq(a->totals.sockets, n);
	/* Every selected socket once, in group order.  (Plain tests with
	 * ck_abort_msg: every passing ck_assert costs a message to the
	 * runner, too slow for the large tables.) */
	seen = calloc(t->nsocks + 1, 1);
	ck_assert_ptr_nonnull(seen);
	for (i = 0; i < a->nselected; i++) {
		uint32_t k = a->selected[i];

		if (k >= t->nsocks || !t->socks[k].selected ||
		    t->socks[k].group >= a->ngroups || seen[k])
			ck_abort_msg("selected[%zu] = %u: out of range, not "
				     "selected, without a group or twice",
				     i, k);
		seen[k] = 1;
		if (i > 0 && t->socks[a->selected[i - 1]].group > t->socks[k].group)
			ck_abort_msg("selected[] not in group order at %zu", i);
	}
	free(seen);
	for (i = 0; i < a->ngroups; i++) {
		const struct group *g = &a->groups[i];
		uint32_t states = 0;
		int st;

		for (st = 0; st < ST_COUNT; st++)
			states += g->n.states[st];
		if (g->n.sockets == 0 || states != g->n.sockets)
			ck_abort_msg("group %zu: %u sockets, %u by state", i,
				     g->n.sockets, states);
		sum.sockets += g->n.sockets;
		sum.close_wait += g->n.close_wait;
		sum.idle += g->n.idle;
		sum.stalled += g->n.stalled;
		sum.dead += g->n.dead;
		for (st = 0; st < ST_COUNT; st++)
			sum.states[st] += g->n.states[st];
		/* Processes unique, ascending PID. */
		for (j = 0; j < g->nprocs; j++) {
			if (g->procs[j] >= t->nprocs)
				ck_abort_msg("group %zu: process index %u", i,
					     g->procs[j]);
			if (j > 0 && t->procs[g->procs[j - 1]].pid >=
					     t->procs[g->procs[j]].pid)
				ck_abort_msg("group %zu: processes not unique "
					     "and ascending",
					     i);
		}
	}
	ck_assert_uint_eq(sum.sockets, a->totals.sockets);
	ck_assert_uint_eq(sum.close_wait, a->totals.close_wait);
	ck_assert_uint_eq(sum.idle, a->totals.idle);
	ck_assert_uint_eq(sum.stalled, a->totals.stalled);
	ck_assert_uint_eq(sum.dead, a->totals.dead);
	ck_assert(memcmp(sum.states, a->totals.states, sizeof(sum.states)) == 0);
}

static void check_procs(const struct sock_table *t, const struct group *g,
			const pid_t *pids, size_t n)
{
	size_t i;

	ck_assert_msg(g->nprocs == n, "group has %zu processes, want %zu", g->nprocs,
		      n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(t->procs[g->procs[i]].pid, pids[i]);
}

/* ---- the whole fixture, default options ---------------------------- */

START_TEST(test_run_groups)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	const struct group *g;
	unsigned char addr[16];
	static const pid_t p200_300[] = { 200, 300 }, p100[] = { 100 },
			   p300[] = { 300 };

	build_fixture(&t);
	default_opts(&o);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	check_invariants(&t, &a, &o);
	ck_assert_uint_eq(a.nselected, 12);
	ck_assert_uint_eq(a.ngroups, 7);

	/* Totals. */
	ck_assert_uint_eq(a.totals.sockets, 12);
	ck_assert_uint_eq(a.totals.close_wait, 1);
	ck_assert_uint_eq(a.totals.idle, 2);
	ck_assert_uint_eq(a.totals.stalled, 1);
	ck_assert_uint_eq(a.totals.dead, 3);
	ck_assert_uint_eq(a.totals.states[ST_LISTEN], 1);
	ck_assert_uint_eq(a.totals.states[ST_ESTABLISHED], 7);
	ck_assert_uint_eq(a.totals.states[ST_CLOSE_WAIT], 1);
	ck_assert_uint_eq(a.totals.states[ST_CLOSE], 3);

	/* Flags per socket. */
	ck_assert_uint_eq(sock_of(&t, 101)->flags, 0);
	ck_assert_uint_eq(sock_of(&t, 102)->flags, FLAG_CLOSE_WAIT);
	ck_assert_uint_eq(sock_of(&t, 103)->flags, FLAG_IDLE);
	ck_assert_uint_eq(sock_of(&t, 104)->flags, FLAG_STALLED);
	ck_assert_uint_eq(sock_of(&t, 106)->flags, 0);
	ck_assert_uint_eq(sock_of(&t, 107)->flags, FLAG_IDLE);
	ck_assert_uint_eq(sock_of(&t, 109)->flags, FLAG_DEAD);

	/* Server 40000: the listener's port, both families together; the
	 * socket held by two processes counted once. */
	g = group_of(&t, &a, 100);
	ck_assert_int_eq(g->side, SIDE_SERVER);
	ck_assert_uint_eq(g->port, 40000);
	ck_assert_ptr_eq(group_of(&t, &a, 101), g);
	ck_assert_ptr_eq(group_of(&t, &a, 102), g);
	ck_assert_ptr_eq(group_of(&t, &a, 103), g);
	ck_assert_uint_eq(g->n.sockets, 4);
	ck_assert_uint_eq(g->n.states[ST_LISTEN], 1);
	ck_assert_uint_eq(g->n.states[ST_ESTABLISHED], 2);
	ck_assert_uint_eq(g->n.states[ST_CLOSE_WAIT], 1);
	ck_assert_uint_eq(g->n.close_wait, 1);
	ck_assert_uint_eq(g->n.idle, 1);
	ck_assert_uint_eq(g->n.stalled, 0);
	ck_assert_uint_eq(g->n.dead, 0);
	check_procs(&t, g, p200_300, 2);

	/* Server 22: below the ephemeral range, no listener. */
	g = group_of(&t, &a, 104);
	ck_assert_int_eq(g->side, SIDE_SERVER);
	ck_assert_uint_eq(g->port, 22);
	ck_assert_uint_eq(g->n.sockets, 1);
	ck_assert_uint_eq(g->n.stalled, 1);
	check_procs(&t, g, p100, 1);

	/* One below the range: server; the first port of it: client. */
	g = group_of(&t, &a, 105);
	ck_assert_int_eq(g->side, SIDE_SERVER);
	ck_assert_uint_eq(g->port, EPH - 1);
	ck_assert_uint_eq(g->nprocs, 0);

	/* Client 10.0.0.5:443: two sockets of one process, listed once. */
	g = group_of(&t, &a, 106);
	ck_assert_int_eq(g->side, SIDE_CLIENT);
	ck_assert_ptr_eq(group_of(&t, &a, 107), g);
	ck_assert_uint_eq(g->port, 443);
	ck_assert_int_eq(g->family, AF_INET);
	inet_pton(AF_INET, "10.0.0.5", addr);
	ck_assert(memcmp(g->raddr, addr, 4) == 0);
	ck_assert_uint_eq(g->n.sockets, 2);
	ck_assert_uint_eq(g->n.idle, 1);
	check_procs(&t, g, p100, 1);

	/* Another peer on the same port is another group. */
	g = group_of(&t, &a, 108);
	ck_assert_int_eq(g->side, SIDE_CLIENT);
	ck_assert_int_eq(g->family, AF_INET6);
	ck_assert_uint_eq(g->port, 443);
	inet_pton(AF_INET6, "2001:db8::5", addr);
	ck_assert(memcmp(g->raddr, addr, 16) == 0);
	ck_assert_uint_eq(g->n.sockets, 1);
	ck_assert_uint_eq(g->nprocs, 0);

	/* Dead sockets by the lowest PID holding them. */
	g = group_of(&t, &a, 109);
	ck_assert_int_eq(g->side, SIDE_PROCESS);
	ck_assert_int_eq(g->pid, 200);
	ck_assert_ptr_eq(group_of(&t, &a, 110), g);
	ck_assert_uint_eq(g->n.sockets, 2);
	ck_assert_uint_eq(g->n.dead, 2);
	ck_assert_uint_eq(g->n.states[ST_CLOSE], 2);
	check_procs(&t, g, p200_300, 2);
	g = group_of(&t, &a, 111);
	ck_assert_int_eq(g->side, SIDE_PROCESS);
	ck_assert_int_eq(g->pid, 300);
	ck_assert_uint_eq(g->n.dead, 1);
	check_procs(&t, g, p300, 1);

	audit_free(&a);
	table_free(&t);
}
END_TEST

/*
 * Most suspicious first: dead + close_wait, then stalled, then idle.
 * process 200 (2 dead), server 40000 (1 close_wait, 1 idle), process 300
 * (1 dead), server 22 (1 stalled), client 10.0.0.5:443 (1 idle), then the
 * two groups with nothing flagged.
 */
START_TEST(test_run_group_order)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	static const uint32_t first[] = { 109, 100, 111, 104, 106 };
	size_t i;

	build_fixture(&t);
	default_opts(&o);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.ngroups, 7);
	for (i = 0; i < 5; i++)
		ck_assert_msg(sock_of(&t, first[i])->group == i,
			      "socket %u in group %u, want %zu", first[i],
			      sock_of(&t, first[i])->group, i);
	ck_assert_uint_ge(sock_of(&t, 105)->group, 5);
	ck_assert_uint_ge(sock_of(&t, 108)->group, 5);
	/* And selected[] follows: the two dead sockets of pid 200 first. */
	ck_assert_uint_eq(t.socks[a.selected[0]].group, 0);
	ck_assert_uint_eq(t.socks[a.selected[1]].group, 0);
	ck_assert_uint_eq(t.socks[a.selected[11]].origin, ORIGIN_KERNEL);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* ---- selection ----------------------------------------------------- */

#define MAXSEL 12

struct sel_row {
	const char *name;
	uint32_t states; /* 0: all */
	uint32_t flags;
	unsigned families; /* 0: both */
	uint16_t ports[3];  /* local ports, 0-terminated; none: no set */
	uint16_t rports[3];
	bool by_pid;
	size_t n;
	uint32_t inodes[MAXSEL];
};

static const struct sel_row sel_rows[] = {
	{ "established", STATE_BIT(ST_ESTABLISHED), 0, 0, { 0 }, { 0 }, false, 7,
	  { 101, 103, 104, 105, 106, 107, 108 } },
	{ "listen,close-wait", STATE_BIT(ST_LISTEN) | STATE_BIT(ST_CLOSE_WAIT), 0,
	  0, { 0 }, { 0 }, false, 2, { 100, 102 } },
	{ "close", STATE_BIT(ST_CLOSE), 0, 0, { 0 }, { 0 }, false, 3,
	  { 109, 110, 111 } },
	{ "time-wait", STATE_BIT(ST_TIME_WAIT), 0, 0, { 0 }, { 0 }, false, 0, { 0 } },
	{ "flag close_wait", 0, FLAG_CLOSE_WAIT, 0, { 0 }, { 0 }, false, 1, { 102 } },
	{ "flag idle,dead", 0, FLAG_IDLE | FLAG_DEAD, 0, { 0 }, { 0 }, false, 5,
	  { 103, 107, 109, 110, 111 } },
	{ "flag stalled", 0, FLAG_STALLED, 0, { 0 }, { 0 }, false, 1, { 104 } },
	{ "-6", 0, 0, FAMILY_INET6, { 0 }, { 0 }, false, 4, { 100, 103, 108, 110 } },
	{ "-4", 0, 0, FAMILY_INET, { 0 }, { 0 }, false, 8,
	  { 101, 102, 104, 105, 106, 107, 109, 111 } },
	{ "port 40000", 0, 0, 0, { 40000 }, { 0 }, false, 4, { 100, 101, 102, 103 } },
	{ "port 22,443", 0, 0, 0, { 22, 443 }, { 0 }, false, 1, { 104 } },
	{ "remote-port 443", 0, 0, 0, { 0 }, { 443 }, false, 3, { 106, 107, 108 } },
	{ "remote-port 40000", 0, 0, 0, { 0 }, { 40000 }, false, 0, { 0 } },
	{ "by pid", 0, 0, 0, { 0 }, { 0 }, true, 10,
	  { 100, 101, 102, 103, 104, 106, 107, 109, 110, 111 } },
	{ "established,-4,by pid", STATE_BIT(ST_ESTABLISHED), 0, FAMILY_INET, { 0 },
	  { 0 }, true, 4, { 101, 104, 106, 107 } },
	{ "flag idle,port 40000", 0, FLAG_IDLE, 0, { 40000 }, { 0 }, false, 1,
	  { 103 } },
	{ "flag stalled,-6", 0, FLAG_STALLED, FAMILY_INET6, { 0 }, { 0 }, false, 0,
	  { 0 } },
	{ "remote 443,-4,idle", 0, FLAG_IDLE, FAMILY_INET, { 0 }, { 443 }, false, 1,
	  { 107 } },
};

static void set_bits(uint8_t *bits, const uint16_t *ports)
{
	memset(bits, 0, 65536 / 8);
	for (; *ports; ports++)
		bits[*ports >> 3] |= (uint8_t)(1u << (*ports & 7));
}

START_TEST(test_run_selection_rows)
{
	const struct sel_row *r = &sel_rows[_i];
	static uint8_t ports[65536 / 8], rports[65536 / 8];
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	size_t i, j;

	build_fixture(&t);
	default_opts(&o);
	if (r->states)
		o.states = r->states;
	o.flags = r->flags;
	if (r->families)
		o.families = r->families;
	if (r->ports[0]) {
		set_bits(ports, r->ports);
		o.ports = ports;
	}
	if (r->rports[0]) {
		set_bits(rports, r->rports);
		o.rports = rports;
	}
	o.by_pid = r->by_pid;
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	check_invariants(&t, &a, &o);
	ck_assert_msg(a.nselected == r->n, "%s: %zu selected, want %zu", r->name,
		      a.nselected, r->n);
	for (i = 0; i < t.nsocks; i++) {
		bool want = false;

		for (j = 0; j < r->n; j++)
			want |= t.socks[i].inode == r->inodes[j];
		ck_assert_msg(!!t.socks[i].selected == want,
			      "%s: socket %u selected=%d, want %d", r->name,
			      t.socks[i].inode, t.socks[i].selected, want);
	}
	/* Every socket is flagged, selected or not. */
	ck_assert_uint_eq(sock_of(&t, 102)->flags, FLAG_CLOSE_WAIT);
	ck_assert_uint_eq(sock_of(&t, 104)->flags, FLAG_STALLED);
	ck_assert_uint_eq(sock_of(&t, 111)->flags, FLAG_DEAD);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* A listener that was not selected still makes its port server-side;
 * groups count only selected sockets. */
START_TEST(test_run_unselected_listener)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	const struct group *g;

	build_fixture(&t);
	default_opts(&o);
	o.states = STATE_BIT(ST_ESTABLISHED);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	g = group_of(&t, &a, 101);
	ck_assert_int_eq(g->side, SIDE_SERVER);
	ck_assert_uint_eq(g->port, 40000);
	ck_assert_ptr_eq(group_of(&t, &a, 103), g);
	ck_assert_uint_eq(g->n.sockets, 2);
	ck_assert_uint_eq(g->n.states[ST_LISTEN], 0);
	ck_assert_uint_eq(g->n.states[ST_CLOSE_WAIT], 0);
	ck_assert_uint_eq(g->n.close_wait, 0);
	ck_assert_uint_eq(g->n.idle, 1);
	/* Only the process holding the selected sockets. */
	ck_assert_uint_eq(g->nprocs, 1);
	ck_assert_int_eq(t.procs[g->procs[0]].pid, 200);
	ck_assert(!sock_of(&t, 100)->selected);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* A listener marked only in the listener set (e.g. read in another
 * pass) counts as well: the set is what the rule reads. */
START_TEST(test_run_listener_bitmap_only)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	static const struct sk one = { AF_INET, ST_ESTABLISHED, "10.0.0.1", 45000,
				       "10.0.0.2", 50000, 1, 0, 0, 0, 0, K };

	table_init(&t);
	add_sock(&t, &one);
	ck_assert_int_eq(table_index(&t), 0);
	default_opts(&o);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.ngroups, 1);
	ck_assert_int_eq(a.groups[0].side, SIDE_CLIENT);
	ck_assert_uint_eq(a.groups[0].port, 50000);
	audit_free(&a);

	ck_assert_int_eq(table_mark_listener(&t, 45000), 0);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.ngroups, 1);
	ck_assert_int_eq(a.groups[0].side, SIDE_SERVER);
	ck_assert_uint_eq(a.groups[0].port, 45000);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* ---- network namespaces -------------------------------------------- */

/*
 * Three namespaces, one port: a listener on 45000 in namespace 0 (ours)
 * and 7001 (another) makes 45000 server-side there, and only there; in
 * 7002 the same port (no listener, above its range) is client-side.
 * The same server key in two namespaces is two groups.  Namespace 7002
 * has its own ephemeral range: port 40000 lies below it.
 */
START_TEST(test_run_netns_listeners)
{
	static const struct {
		uint32_t netns;
		struct sk k;
	} rows[] = {
		{ 0, { AF_INET, ST_LISTEN, "0.0.0.0", 45000, "0.0.0.0", 0, 1, 0, 0, 0,
		       0, K } },
		{ 0, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 45000, "127.0.0.1", 50000,
		       2, 0, 0, 0, 0, K } },
		{ 7001, { AF_INET6, ST_LISTEN, "::", 45000, "::", 0, 3, 0, 0, 0, 0, K } },
		{ 7001, { AF_INET, ST_CLOSE_WAIT, "127.0.0.1", 45000, "127.0.0.1",
			  50001, 4, 1, 0, 0, 0, K } },
		{ 7002, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 45000, "127.0.0.1",
			  50002, 5, 0, 0, 0, 0, K } },
		{ 7002, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 40000, "10.0.0.1",
			  50003, 6, 0, 0, 0, 0, K } },
		/* 40000 in ours: above its range, no listener: client */
		{ 0, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 40000, "10.0.0.1", 50003,
		       7, 0, 0, 0, 0, K } },
	};
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	const struct group *g;
	size_t i;

	table_init(&t);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		t.cur_netns = rows[i].netns;
		add_sock(&t, &rows[i].k);
		ck_assert_uint_eq(t.socks[t.nsocks - 1].netns, rows[i].netns);
	}
	t.cur_netns = 0;
	ck_assert_int_eq(table_set_ephemeral_low(&t, 7002, 41000), 0);
	ck_assert_int_eq(table_index(&t), 0);
	ck_assert(table_has_listener(&t, 0, 45000));
	ck_assert(table_has_listener(&t, 7001, 45000));
	ck_assert(!table_has_listener(&t, 7002, 45000));
	ck_assert_uint_eq(table_ephemeral_low(&t, 7002, EPH), 41000);
	ck_assert_uint_eq(table_ephemeral_low(&t, 7001, EPH), EPH);
	default_opts(&o);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);

	g = group_of(&t, &a, 2);
	ck_assert_int_eq(g->side, SIDE_SERVER);
	ck_assert_uint_eq(g->netns, 0);
	ck_assert_uint_eq(g->n.sockets, 2);
	g = group_of(&t, &a, 4);
	ck_assert_int_eq(g->side, SIDE_SERVER);
	ck_assert_uint_eq(g->port, 45000);
	ck_assert_uint_eq(g->netns, 7001);
	ck_assert_uint_eq(g->n.sockets, 2);
	ck_assert_ptr_ne(g, group_of(&t, &a, 2));
	g = group_of(&t, &a, 5);
	ck_assert_int_eq(g->side, SIDE_CLIENT);
	ck_assert_uint_eq(g->port, 50002);
	ck_assert_uint_eq(g->netns, 7002);
	g = group_of(&t, &a, 6);
	ck_assert_int_eq(g->side, SIDE_SERVER);
	ck_assert_uint_eq(g->port, 40000);
	g = group_of(&t, &a, 7);
	ck_assert_int_eq(g->side, SIDE_CLIENT);
	ck_assert_uint_eq(g->netns, 0);
	ck_assert_uint_eq(a.ngroups, 5);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* Many listeners in many namespaces: the set grows and keeps them
 * apart. */
START_TEST(test_listener_set_many)
{
	struct sock_table t;
	uint32_t ns;
	unsigned port;

	table_init(&t);
	for (ns = 1; ns <= 50; ns++) {
		t.cur_netns = 4026531840u + ns;
		for (port = 1000; port < 1000 + 40; port++)
			if ((port + ns) % 3)
				ck_assert_int_eq(table_mark_listener(&t, (uint16_t)port), 0);
	}
	for (ns = 1; ns <= 50; ns++)
		for (port = 990; port < 1050; port++)
			ck_assert_int_eq(table_has_listener(&t, 4026531840u + ns,
							    (uint16_t)port),
					 port >= 1000 && port < 1040 && (port + ns) % 3);
	ck_assert(!table_has_listener(&t, 0, 1001));
	table_free(&t);
}
END_TEST

/* ---- thresholds: equal counts -------------------------------------- */

struct thr_row {
	uint32_t idle_ms;
	uint32_t idle, stalled;
};

/* Sockets (ESTABLISHED unless said): last_recv/last_send/recv_q
 *   a  59999/59999/0   b  60000/60000/0   c  60001/60001/0
 *   d  60000/0/1       e  59999/0/1
 *   f  CLOSE-WAIT 60000/60000/1   g  CLOSE-WAIT 60000/60000/2 */
static const struct thr_row thr_rows[] = {
	{ 60000, 2, 2 },
	{ 59999, 3, 3 },
	{ 60001, 1, 0 },
	{ 0, 5, 3 },
	{ UINT32_MAX >> 1, 0, 0 },
};

START_TEST(test_run_threshold_rows)
{
	const struct thr_row *r = &thr_rows[_i];
	static const struct sk socks[] = {
		{ AF_INET, ST_ESTABLISHED, "10.0.0.1", 50001, "10.0.0.2", 80, 1, 0, 1,
		  59999, 59999, K },
		{ AF_INET, ST_ESTABLISHED, "10.0.0.1", 50002, "10.0.0.2", 80, 2, 0, 1,
		  60000, 60000, K },
		{ AF_INET, ST_ESTABLISHED, "10.0.0.1", 50003, "10.0.0.2", 80, 3, 0, 1,
		  60001, 60001, K },
		{ AF_INET, ST_ESTABLISHED, "10.0.0.1", 50004, "10.0.0.2", 80, 4, 1, 1,
		  60000, 0, K },
		{ AF_INET, ST_ESTABLISHED, "10.0.0.1", 50005, "10.0.0.2", 80, 5, 1, 1,
		  59999, 0, K },
		{ AF_INET, ST_CLOSE_WAIT, "10.0.0.1", 50006, "10.0.0.2", 80, 6, 1, 1,
		  60000, 60000, K },
		{ AF_INET, ST_CLOSE_WAIT, "10.0.0.1", 50007, "10.0.0.2", 80, 7, 2, 1,
		  60000, 60000, K },
	};
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	size_t i;

	table_init(&t);
	for (i = 0; i < sizeof(socks) / sizeof(socks[0]); i++)
		add_sock(&t, &socks[i]);
	ck_assert_int_eq(table_index(&t), 0);
	default_opts(&o);
	o.idle_ms = r->idle_ms;
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	check_invariants(&t, &a, &o);
	ck_assert_uint_eq(a.totals.sockets, 7);
	ck_assert_msg(a.totals.idle == r->idle, "idle_ms %u: %u idle, want %u",
		      r->idle_ms, a.totals.idle, r->idle);
	ck_assert_msg(a.totals.stalled == r->stalled,
		      "idle_ms %u: %u stalled, want %u", r->idle_ms, a.totals.stalled,
		      r->stalled);
	ck_assert_uint_eq(a.totals.close_wait, 2);
	/* All to one peer: one client group holding the same counts. */
	ck_assert_uint_eq(a.ngroups, 1);
	ck_assert_int_eq(a.groups[0].side, SIDE_CLIENT);
	ck_assert_uint_eq(a.groups[0].n.idle, r->idle);
	ck_assert_uint_eq(a.groups[0].n.stalled, r->stalled);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* ---- edge cases ---------------------------------------------------- */

START_TEST(test_run_empty)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;

	table_init(&t);
	default_opts(&o);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.ngroups, 0);
	ck_assert_uint_eq(a.nselected, 0);
	ck_assert_uint_eq(a.totals.sockets, 0);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* Running twice on one table gives the same answer (the audit resets
 * what it set). */
START_TEST(test_run_twice)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;

	build_fixture(&t);
	default_opts(&o);
	o.flags = FLAG_DEAD;
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.nselected, 3);
	audit_free(&a);
	o.flags = 0;
	o.states = STATE_BIT(ST_LISTEN);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	check_invariants(&t, &a, &o);
	ck_assert_uint_eq(a.nselected, 1);
	ck_assert(!sock_of(&t, 109)->selected);
	ck_assert_uint_eq(sock_of(&t, 109)->flags, FLAG_DEAD);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* Every process holding every socket (a pre-fork server), one of them
 * twice: owners stay in the order they were added, each process counts
 * each socket once, and neither costs a walk per owner (4M holders here
 * took minutes when appending walked the list). */
START_TEST(test_run_shared_holders)
{
	enum { NS = 2000, NP = 2000 };
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	uint32_t i, p;

	table_init(&t);
	for (i = 0; i < NS; i++) {
		struct sock_rec *r = table_add_sock(&t);

		if (!r)
			ck_abort_msg("table_add_sock");
		r->family = AF_INET;
		r->state = ST_LISTEN;
		r->lport = (uint16_t)(20000 + i);
		r->inode = i + 1;
		ck_assert_int_eq(table_mark_listener(&t, r->lport), 0);
	}
	ck_assert_int_eq(table_index(&t), 0);
	for (p = 0; p < NP; p++) {
		ck_assert_uint_eq(table_add_proc(&t, (pid_t)(1000 + p), "prefork", 7), p);
		for (i = 0; i < NS; i++)
			ck_assert_int_eq(table_add_owner(&t, i, p, (int)(3 + i)), 0);
		if (p == 0)
			ck_assert_int_eq(table_add_owner(&t, 0, 0, 99999), 0);
	}
	default_opts(&o);
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.nprocs, NP);
	for (p = 0; p < NP; p++)
		ck_assert_uint_eq(t.procs[p].sockets, NS);
	for (i = 0; i < NS; i += 397) {
		uint32_t r = t.socks[i].owners, n = 0, last = 0;

		for (; r != NO_INDEX; r = t.refs[r].next, n++) {
			ck_assert_uint_ge(t.refs[r].proc, last);
			last = t.refs[r].proc;
		}
		ck_assert_uint_eq(n, i == 0 ? NP + 1 : NP);
	}
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* Many groups and sockets: the audit scales past any first allocation
 * and keeps every invariant. */
START_TEST(test_run_many)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	uint32_t i, p;
	char comm[16];

	table_init(&t);
	for (i = 0; i < 20000; i++) {
		struct sock_rec *r = table_add_sock(&t);

		if (!r)
			ck_abort_msg("table_add_sock");
		r->family = AF_INET;
		r->state = i % 7 == 0 ? ST_CLOSE_WAIT : ST_ESTABLISHED;
		r->lport = (uint16_t)(40000 + i % 1000);
		r->rport = (uint16_t)(1 + i % 3000);
		r->raddr[0] = 10;
		r->raddr[3] = (unsigned char)(i % 5);
		r->inode = i + 1;
		r->has_times = 1;
		r->last_recv_ms = i;
		r->last_send_ms = i;
	}
	ck_assert_int_eq(table_index(&t), 0);
	for (p = 0; p < 50; p++) {
		int n = snprintf(comm, sizeof(comm), "p%u", p);

		ck_assert_uint_ne(table_add_proc(&t, (pid_t)(1000 - p), comm, (size_t)n),
				  NO_INDEX);
	}
	for (i = 0; i < 20000; i++)
		if (table_add_owner(&t, i, i % 50, (int)i) != 0)
			ck_abort_msg("table_add_owner");
	default_opts(&o);
	o.idle_ms = 10000;
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	check_invariants(&t, &a, &o);
	ck_assert_uint_eq(a.nselected, 20000);
	ck_assert_uint_eq(a.totals.close_wait, 2858);
	/* Groups with close_wait come before groups without. */
	for (i = 1; i < a.ngroups; i++)
		if (a.groups[i - 1].n.close_wait + a.groups[i - 1].n.dead <
		    a.groups[i].n.close_wait + a.groups[i].n.dead)
			ck_abort_msg("group %u before a more suspicious one", i - 1);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* ---- --group-by process, unit, container, pod ---------------------- */

/*
 * The fixture's processes given workloads: 300 in unit b.service and a
 * docker container, 200 in unit a.service and a pod known by its names
 * (no container), 100 in none.  Each socket goes to the workload of its
 * lowest-PID holder (102 and 109 are held by 200 and 300: 200's); no
 * holder or no such workload: the null group.
 */
static struct wl_container ctr300 = {
	.is_container = true, .id = "c0ffee", .runtime = "docker", .name = "web",
};
static struct wl_container pod200 = {
	.has_pod = true, .pod_namespace = "ns", .pod_name = "p", .pod_uid = "u",
};
static struct workload wl300 = { .resolved = true, .unit = "b.service", .c = &ctr300 };
static struct workload wl200 = { .resolved = true, .unit = "a.service", .c = &pod200 };
static struct workload wl100 = { .resolved = true };

static const struct {
	int by;		  /* enum group_by */
	uint32_t inode;
	int side;	  /* enum group_side */
	const char *key;  /* wl_key, NULL: the null group */
	pid_t pid;	  /* GROUP_BY_PROCESS */
} wl_rows[] = {
	{ GROUP_BY_UNIT, 100, SIDE_UNIT, "a.service", 0 },
	{ GROUP_BY_UNIT, 102, SIDE_UNIT, "a.service", 0 },
	{ GROUP_BY_UNIT, 104, SIDE_UNIT, NULL, 0 },
	{ GROUP_BY_UNIT, 105, SIDE_UNIT, NULL, 0 },
	{ GROUP_BY_UNIT, 109, SIDE_UNIT, "a.service", 0 },
	{ GROUP_BY_UNIT, 111, SIDE_UNIT, "b.service", 0 },
	{ GROUP_BY_CONTAINER, 111, SIDE_CONTAINER, "c0ffee", 0 },
	{ GROUP_BY_CONTAINER, 102, SIDE_CONTAINER, NULL, 0 },
	{ GROUP_BY_CONTAINER, 109, SIDE_CONTAINER, NULL, 0 },
	{ GROUP_BY_CONTAINER, 108, SIDE_CONTAINER, NULL, 0 },
	{ GROUP_BY_POD, 101, SIDE_POD, "ns/p", 0 },
	{ GROUP_BY_POD, 110, SIDE_POD, "ns/p", 0 },
	{ GROUP_BY_POD, 111, SIDE_POD, NULL, 0 },
	{ GROUP_BY_POD, 107, SIDE_POD, NULL, 0 },
	{ GROUP_BY_PROCESS, 102, SIDE_PROCESS, NULL, 200 },
	{ GROUP_BY_PROCESS, 104, SIDE_PROCESS, NULL, 100 },
	{ GROUP_BY_PROCESS, 111, SIDE_PROCESS, NULL, 300 },
	{ GROUP_BY_PROCESS, 105, SIDE_PROCESS, NULL, 0 },
};

START_TEST(test_run_group_by_rows)
{
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	const struct group *g;

	build_fixture(&t);
	t.procs[P300].wl = &wl300;
	t.procs[P200].wl = &wl200;
	t.procs[P100].wl = &wl100;
	default_opts(&o);
	o.group_by = wl_rows[_i].by;
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	check_invariants(&t, &a, &o);
	g = group_of(&t, &a, wl_rows[_i].inode);
	ck_assert_msg((int)g->side == wl_rows[_i].side, "row %d: side %d", _i, g->side);
	ck_assert_uint_eq(g->netns, 0);
	if (wl_rows[_i].key)
		ck_assert_msg(g->wl_key && !strcmp(g->wl_key, wl_rows[_i].key),
			      "row %d: key %s, want %s", _i, g->wl_key ? g->wl_key : "null",
			      wl_rows[_i].key);
	else
		ck_assert_msg(!g->wl_key, "row %d: key %s, want null", _i, g->wl_key);
	if (wl_rows[_i].key)
		ck_assert_uint_ne(g->wl_proc, NO_INDEX);
	ck_assert_int_eq(g->pid, wl_rows[_i].pid);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* A group across namespaces takes the namespace its sockets share, or
 * none (GROUP_NETNS_MIXED) when they are in several. */
START_TEST(test_run_group_by_netns)
{
	static const struct {
		uint32_t netns;
		int proc; /* 0 or 1 */
		struct sk k;
	} rows[] = {
		{ 7001, 0, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 40001, "10.0.0.1", 80, 1,
			     0, 0, 0, 0, K } },
		{ 7001, 0, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 40002, "10.0.0.1", 80, 2,
			     0, 0, 0, 0, K } },
		{ 0, 1, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 40003, "10.0.0.1", 80, 3, 0,
			  0, 0, 0, K } },
		{ 7002, 1, { AF_INET, ST_ESTABLISHED, "127.0.0.1", 40004, "10.0.0.1", 80, 4,
			     0, 0, 0, 0, K } },
	};
	static const int bys[] = { GROUP_BY_PROCESS, GROUP_BY_POD };
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	uint32_t procs[2];
	size_t i;

	table_init(&t);
	procs[0] = table_add_proc(&t, 100, "one", 3);
	procs[1] = table_add_proc(&t, 200, "two", 3);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t sock;

		t.cur_netns = rows[i].netns;
		sock = add_sock(&t, &rows[i].k);
		ck_assert_int_eq(table_add_owner(&t, sock, procs[rows[i].proc], 3 + (int)i), 0);
	}
	t.cur_netns = 0;
	ck_assert_int_eq(table_index(&t), 0);
	for (i = 0; i < sizeof(bys) / sizeof(bys[0]); i++) {
		default_opts(&o);
		o.group_by = bys[i];
		ck_assert_int_eq(audit_run(&t, &o, &a), 0);
		if (bys[i] == GROUP_BY_PROCESS) {
			ck_assert_uint_eq(a.ngroups, 2);
			ck_assert_uint_eq(group_of(&t, &a, 1)->netns, 7001);
			ck_assert_ptr_eq(group_of(&t, &a, 1), group_of(&t, &a, 2));
			ck_assert_uint_eq(group_of(&t, &a, 3)->netns, GROUP_NETNS_MIXED);
		} else {
			/* No process has a pod: one null group, four sockets. */
			ck_assert_uint_eq(a.ngroups, 1);
			ck_assert_uint_eq(group_of(&t, &a, 4)->netns, GROUP_NETNS_MIXED);
		}
		audit_free(&a);
	}
	table_free(&t);
}
END_TEST

/* Under --group-by, one group a protocol: a process's TCP and UNIX
 * sockets are two groups, each with its protocol. */
START_TEST(test_run_group_by_protocol)
{
	static const struct sk tcp = { AF_INET, ST_ESTABLISHED, "127.0.0.1", 40001,
				       "10.0.0.1", 80, 1, 0, 0, 0, 0, K };
	static const struct sk ux = { AF_INET, ST_ESTABLISHED, NULL, 0, NULL, 0, 2, 0,
				      0, 0, 0, K };
	static const int bys[] = { GROUP_BY_PROCESS, GROUP_BY_UNIT, GROUP_BY_POD };
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	uint32_t proc, s1, s2;
	size_t i;

	table_init(&t);
	proc = table_add_proc(&t, 100, "one", 3);
	s1 = add_sock(&t, &tcp);
	s2 = add_sock(&t, &ux);
	t.socks[s2].protocol = PROTO_UNIX;
	t.socks[s2].family = AF_UNIX;
	ck_assert_int_eq(table_add_owner(&t, s1, proc, 3), 0);
	ck_assert_int_eq(table_add_owner(&t, s2, proc, 4), 0);
	ck_assert_int_eq(table_index(&t), 0);
	for (i = 0; i < sizeof(bys) / sizeof(bys[0]); i++) {
		default_opts(&o);
		o.group_by = bys[i];
		ck_assert_int_eq(audit_run(&t, &o, &a), 0);
		ck_assert_uint_eq(a.ngroups, 2);
		ck_assert_int_eq(group_of(&t, &a, 1)->protocol, PROTO_TCP);
		ck_assert_int_eq(group_of(&t, &a, 2)->protocol, PROTO_UNIX);
		audit_free(&a);
	}
	table_free(&t);
}
END_TEST

/* How many groups each grouping makes of the fixture, every socket
 * selected. */
START_TEST(test_run_group_by_counts)
{
	static const struct {
		int by;
		size_t groups;
	} rows[] = {
		{ GROUP_BY_UNIT, 3 },	   /* a, b, null */
		{ GROUP_BY_CONTAINER, 2 }, /* c0ffee, null */
		{ GROUP_BY_POD, 2 },	   /* ns/p, null */
		{ GROUP_BY_PROCESS, 4 },   /* 100, 200, 300, no holder */
	};
	struct sock_table t;
	struct audit_opts o;
	struct audit a;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		build_fixture(&t);
		t.procs[P300].wl = &wl300;
		t.procs[P200].wl = &wl200;
		t.procs[P100].wl = &wl100;
		default_opts(&o);
		o.group_by = rows[i].by;
		ck_assert_int_eq(audit_run(&t, &o, &a), 0);
		ck_assert_uint_eq(a.nselected, 12);
		ck_assert_msg(a.ngroups == rows[i].groups, "group-by %d: %zu groups, want %zu",
			      rows[i].by, a.ngroups, rows[i].groups);
		audit_free(&a);
		table_free(&t);
	}
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("flags");

	tcase_add_loop_test(tc, test_flags_of_rows, 0, NROWS(flag_rows));
	tcase_add_loop_test(tc, test_run_threshold_rows, 0, NROWS(thr_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("groups");
	tcase_add_test(tc, test_run_groups);
	tcase_add_test(tc, test_run_group_order);
	tcase_add_test(tc, test_run_unselected_listener);
	tcase_add_test(tc, test_run_listener_bitmap_only);
	tcase_add_test(tc, test_run_netns_listeners);
	tcase_add_test(tc, test_listener_set_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("selection");
	tcase_add_loop_test(tc, test_run_selection_rows, 0, NROWS(sel_rows));
	tcase_add_test(tc, test_run_empty);
	tcase_add_test(tc, test_run_twice);
	tcase_add_test(tc, test_run_many);
	tcase_add_test(tc, test_run_shared_holders);
	tcase_add_test(tc, test_run_group_by_netns);
	tcase_add_test(tc, test_run_group_by_protocol);
	tcase_add_loop_test(tc, test_run_group_by_rows, 0,
			    (int)(sizeof(wl_rows) / sizeof(wl_rows[0])));
	tcase_add_test(tc, test_run_group_by_counts);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(audit_suite());
}
