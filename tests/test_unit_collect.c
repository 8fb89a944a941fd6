/*
 * collect_sockets when a dump goes wrong part-way, in this process on
 * loopback: the sock_diag dump is read through mnl_socket_recvfrom,
 * defined here in front of libmnl's, which passes each batch on and,
 * once a batch has held the test's listener, makes the dump fail (auto
 * then reads /proc) or marks that batch interrupted (the dump is done
 * again).  At that moment the listener closes and a client socket takes
 * its port.  The dump that replaces the first must be all the table
 * holds: the client socket listed, and no listener mark left on its
 * port (audit.c would group a socket whose port has one as a server).
 * BPF is denied (shim/deny_bpf.h) so that auto starts with netlink.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect.h"
#include "lib/runsuite.h"
#include "shim/deny_bpf.h"

enum inject { INJECT_FAIL, INJECT_INTR };
enum stage { STAGE_WAIT, STAGE_SEEN, STAGE_DONE };

/* The sockets of one row and where the injection is. */
static struct {
	enum inject inject;
	enum stage stage;
	int listener, server, client, accepted;
	uint16_t lport, sport;
} race = { .listener = -1, .server = -1, .client = -1, .accepted = -1 };

/* A TCP socket listening on 127.0.0.1, its port into *port. */
static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Between the two dumps: the listener goes, and a client bound to its
 * port connects to the other listener. */
static void race_move(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1;

	close(race.listener);
	race.listener = -1;
	race.client = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(race.client, 0);
	ck_assert_int_eq(setsockopt(race.client, SOL_SOCKET, SO_REUSEADDR, &one,
				    sizeof(one)), 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(race.lport);
	ck_assert_int_eq(bind(race.client, (struct sockaddr *)&a, sizeof(a)), 0);
	a.sin_port = htons(race.sport);
	ck_assert_int_eq(connect(race.client, (struct sockaddr *)&a, sizeof(a)), 0);
	race.accepted = accept(race.server, NULL, NULL);
	ck_assert_int_ge(race.accepted, 0);
}

/* The first message of a batch that lists the test's listener, or NULL. */
static struct nlmsghdr *batch_lists_listener(void *buf, size_t n)
{
	struct nlmsghdr *first = buf, *h = buf;
	int len = (int)n;

	for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		const struct inet_diag_msg *m = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) ||
		    h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
			continue;
		if (m->idiag_family == AF_INET && m->idiag_state == TCP_LISTEN &&
		    m->id.idiag_sport == htons(race.lport))
			return first;
	}
	return NULL;
}

/* In front of libmnl's: every sock_diag batch passes here. */
ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
	ssize_t (*real)(const struct mnl_socket *, void *, size_t) =
		(ssize_t (*)(const struct mnl_socket *, void *, size_t))dlsym(
			RTLD_NEXT, "mnl_socket_recvfrom");
	struct nlmsghdr *first;
	ssize_t n;

	ck_assert_ptr_nonnull(real);
	if (race.stage == STAGE_SEEN) {
		race_move();
		race.stage = STAGE_DONE;
		errno = EIO;
		return -1;
	}
	n = real(nl, buf, siz);
	if (n <= 0 || race.stage != STAGE_WAIT)
		return n;
	first = batch_lists_listener(buf, (size_t)n);
	if (!first)
		return n;
	if (race.inject == INJECT_FAIL) {
		race.stage = STAGE_SEEN;
	} else {
		first->nlmsg_flags |= NLM_F_DUMP_INTR;
		race_move();
		race.stage = STAGE_DONE;
	}
	return n;
}

static const struct row {
	const char *name;
	enum inject inject;
	enum source_kind source; /* what collect_sockets says it used */
} rows[] = {
	{ "netlink fails part-way, /proc instead", INJECT_FAIL, SOURCE_PROC },
	{ "netlink dump interrupted, done again", INJECT_INTR, SOURCE_NETLINK },
};

START_TEST(test_replaced_dump)
{
	const struct row *r = &rows[_i];
	char *argv[] = { "sockaudit", NULL }, err[256];
	struct collect_result res;
	struct netns_set ns;
	struct pid_netns pn;
	struct options o;
	struct sock_table t;
	size_t i, clients = 0;

	race.inject = r->inject;
	race.stage = STAGE_WAIT;
	race.server = listen_loopback(&race.sport);
	race.listener = listen_loopback(&race.lport);
	ck_assert_int_eq(options_parse(1, argv, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(collect_namespaces(&ns, &o, &pn), 0);
	table_init(&t);

	ck_assert_int_eq(collect_sockets(&ns, &t, &o, o.states | STATE_BIT(ST_LISTEN),
					 &res), 0);

	ck_assert_msg(race.stage == STAGE_DONE, "%s: the listener was not dumped",
		      r->name);
	ck_assert_int_eq(res.source, r->source);
	for (i = 0; i < t.nsocks; i++)
		if (t.socks[i].protocol == PROTO_TCP && t.socks[i].lport == race.lport &&
		    t.socks[i].rport == race.sport && t.socks[i].state == ST_ESTABLISHED)
			clients++;
	ck_assert_msg(clients == 1, "%s: the client on port %u listed %zu times",
		      r->name, (unsigned)race.lport, clients);
	ck_assert_msg(!table_has_listener(&t, 0, race.lport),
		      "%s: a listener mark on port %u outlived the dump that saw it",
		      r->name, (unsigned)race.lport);
	table_free(&t);
	netns_free(&ns);
	options_free(&o);
	close(race.client);
	close(race.accepted);
	close(race.server);
}
END_TEST

/* table_rollback alone: what was added after the mark is gone, what
 * was before stays, and the table takes more afterwards. */
START_TEST(test_rollback)
{
	struct sock_table t;
	struct table_mark m;
	struct sock_rec *s;

	table_init(&t);
	s = table_add_sock(&t);
	ck_assert_ptr_nonnull(s);
	s->inode = 11;
	ck_assert_int_eq(table_mark_listener(&t, 80), 0);
	ck_assert_int_eq(table_index(&t), 0);
	m = table_mark(&t);
	for (uint32_t i = 0; i < 40; i++) {
		s = table_add_sock(&t);
		ck_assert_ptr_nonnull(s);
		s->inode = 100 + i;
		ck_assert_int_eq(table_mark_listener(&t, (uint16_t)(1000 + i)), 0);
	}
	ck_assert_int_eq(table_index(&t), 0);
	ck_assert_uint_ne(table_find(&t, 120), NO_INDEX);

	table_rollback(&t, &m);
	ck_assert_uint_eq(t.nsocks, 1);
	ck_assert(table_has_listener(&t, 0, 80));
	ck_assert(!table_has_listener(&t, 0, 1000));
	ck_assert(!table_has_listener(&t, 0, 1039));
	ck_assert_uint_eq(table_find(&t, 11), 0);
	ck_assert_uint_eq(table_find(&t, 120), NO_INDEX);

	s = table_add_sock(&t);
	ck_assert_ptr_nonnull(s);
	s->inode = 7;
	ck_assert_int_eq(table_mark_listener(&t, 1000), 0);
	ck_assert_int_eq(table_index(&t), 0);
	ck_assert_uint_eq(table_find(&t, 7), 1);
	ck_assert(table_has_listener(&t, 0, 1000));
	table_free(&t);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("collect");
	TCase *tc = tcase_create("collect");

	tcase_add_loop_test(tc, test_replaced_dump, 0,
			    (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_rollback);
	suite_add_tcase(su, tc);
	return run_suite(su) != 0;
}
