/*
 * Unit tests for source_procnet.h: procnet_parse_line on lines in the
 * kernel's exact format (net/ipv4/tcp_ipv4.c get_tcp4_sock,
 * get_timewait4_sock; net/ipv6/tcp_ipv6.c get_tcp6_sock), and
 * procnet_read on a recorded tree, tests/data/proc (see
 * tests/data/record.py).
 *
 * The kernel prints each 32-bit word of an address as the host-order
 * value of its network-order bytes: the lines below are what a
 * little-endian machine prints.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "source_procnet.h"
#include "table.h"
#include "lib/runsuite.h"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the recorded /proc/net/tcp lines are a little-endian machine's"
#endif

#define HDR4                                                                 \
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when " \
	"retrnsmt   uid  timeout inode                                    " \
	"                 \n"
#define HDR6                                                                  \
	"  sl  local_address                         remote_address          " \
	"              st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout " \
	"inode\n"
/* /proc/net/tcp pads every line with spaces to 149 bytes. */
#define PAD "                     "

struct pn_row {
	const char *line;
	int family;
	int ret;
	int state;
	const char *laddr;
	unsigned lport;
	const char *raddr;
	unsigned rport;
	uint32_t send_q, recv_q, uid, inode;
};

static const struct pn_row good_rows[] = {
	/* Headers. */
	{ HDR4, AF_INET, 0, 0, NULL, 0, NULL, 0, 0, 0, 0, 0 },
	{ HDR6, AF_INET6, 0, 0, NULL, 0, NULL, 0, 0, 0, 0, 0 },
	/* Recorded lines, tests/data/proc/net/tcp. */
	{ "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
	  "00000000     0        0 23694 1 000000003ae2f7b6 100 0 0 10 0" PAD "\n",
	  AF_INET, 1, 10, "127.0.0.1", 8080, "0.0.0.0", 0, 0, 0, 0, 23694 },
	{ "   5: 0100007F:1F90 0100007F:EDC8 01 00000000:00000005 00:00000000 "
	  "00000000     0        0 23696 1 0000000019842299 20 4 30 10 -1" PAD "\n",
	  AF_INET, 1, 1, "127.0.0.1", 8080, "127.0.0.1", 60872, 0, 5, 0, 23696 },
	{ "   6: 0100007F:1F90 0100007F:EDCA 08 00000000:00000001 00:00000000 "
	  "00000000     0        0 23698 1 00000000eedc1974 20 4 0 10 -1" PAD "\n",
	  AF_INET, 1, 8, "127.0.0.1", 8080, "127.0.0.1", 60874, 0, 1, 0, 23698 },
	/* TIME-WAIT and FIN-WAIT-2 (timewait socks): fewer fields, inode 0. */
	{ "   2: 0100007F:EDCA 0100007F:1F90 05 00000000:00000000 03:000016F2 "
	  "00000000     0        0 0 3 000000008782b295" PAD "\n",
	  AF_INET, 1, 5, "127.0.0.1", 60874, "127.0.0.1", 8080, 0, 0, 0, 0 },
	{ "   3: 0100007F:EDD0 0100007F:1F90 06 00000000:00000000 03:000016F7 "
	  "00000000     0        0 0 3 0000000059f54144" PAD "\n",
	  AF_INET, 1, 6, "127.0.0.1", 60880, "127.0.0.1", 8080, 0, 0, 0, 0 },
	/* Without the trailing newline and padding, too. */
	{ "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
	  "00000000     0        0 12345 1 0000000000000000 100 0 0 10 0",
	  AF_INET, 1, 10, "127.0.0.1", 8080, "0.0.0.0", 0, 0, 0, 0, 12345 },
	/* Queues, uid, large inode, addresses that show the byte order. */
	{ "  17: 0501A8C0:0016 0A00000A:C350 01 0000012C:00010000 01:00000014 "
	  "00000000  1000        0 4294967295 1 0000000000000000 20 4 30 10 -1",
	  AF_INET, 1, 1, "192.168.1.5", 22, "10.0.0.10", 50000, 300, 65536, 1000,
	  4294967295u },
	{ "10000: 00000000:FFFF 04030201:0001 02 00000000:00000000 00:00000000 "
	  "00000000 4294967295        0 7 1 0000000000000000",
	  AF_INET, 1, 2, "0.0.0.0", 65535, "1.2.3.4", 1, 0, 0, 4294967295u, 7 },
	/* tcp6: four host-order words. */
	{ "   0: 00000000000000000000000000000000:2382 "
	  "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
	  "00000000     0        0 23701 1 000000005075db1e 100 0 0 10 0\n",
	  AF_INET6, 1, 10, "::", 9090, "::", 0, 0, 0, 0, 23701 },
	{ "   1: 00000000000000000000000001000000:2382 "
	  "00000000000000000000000001000000:A98A 01 00000000:00000064 00:00000000 "
	  "00000000     0        0 23703 1 00000000af99d737 20 4 30 10 -1\n",
	  AF_INET6, 1, 1, "::1", 9090, "::1", 43402, 0, 100, 0, 23703 },
	/* IPv4-mapped stays IPv6. */
	{ "   3: 0000000000000000FFFF00000100007F:2382 "
	  "0000000000000000FFFF00000100007F:9E5A 01 00000000:00000000 00:00000000 "
	  "00000000     0        0 23705 1 000000003b660dfa 20 0 0 10 -1\n",
	  AF_INET6, 1, 1, "::ffff:127.0.0.1", 9090, "::ffff:127.0.0.1", 40538, 0,
	  0, 0, 23705 },
	{ "   4: B80D0120000000000000000001000000:01BB "
	  "B80D012000000000785634120000ADDE:D431 08 00000007:00000002 00:00000000 "
	  "00000000  1001        0 99 1 0000000000000000 20 4 30 10 -1\n",
	  AF_INET6, 1, 8, "2001:db8::1", 443, "2001:db8::1234:5678:dead:0", 54321,
	  7, 2, 1001, 99 },
};

static void check_addr(int family, const unsigned char *got, const char *want,
		       const char *what, int row)
{
	unsigned char w[16];
	char gs[INET6_ADDRSTRLEN];

	memset(w, 0, sizeof(w));
	ck_assert_int_eq(inet_pton(family, want, w), 1);
	inet_ntop(family, got, gs, sizeof(gs));
	ck_assert_msg(memcmp(got, w, family == AF_INET ? 4 : 16) == 0,
		      "row %d: %s is %s, want %s", row, what, gs, want);
}

START_TEST(test_parse_good_rows)
{
	const struct pn_row *r = &good_rows[_i];
	struct sock_rec rec;
	int ret;

	memset(&rec, 0xa5, sizeof(rec));
	ret = procnet_parse_line(r->line, r->family, &rec);
	ck_assert_msg(ret == r->ret, "row %d: returned %d, want %d", _i, ret, r->ret);
	if (ret != 1)
		return;
	ck_assert_int_eq(rec.family, r->family);
	ck_assert_int_eq(rec.state, r->state);
	check_addr(r->family, rec.laddr, r->laddr, "laddr", _i);
	check_addr(r->family, rec.raddr, r->raddr, "raddr", _i);
	ck_assert_uint_eq(rec.lport, r->lport);
	ck_assert_uint_eq(rec.rport, r->rport);
	ck_assert_uint_eq(rec.send_q, r->send_q);
	ck_assert_uint_eq(rec.recv_q, r->recv_q);
	ck_assert_uint_eq(rec.uid, r->uid);
	ck_assert_uint_eq(rec.inode, r->inode);
	/* /proc has no tcp_info; a kernel record with a local address. */
	ck_assert_uint_eq(rec.has_times, 0);
	ck_assert_uint_eq(rec.origin, ORIGIN_KERNEL);
	ck_assert_uint_eq(rec.has_local, 1);
	ck_assert_uint_eq(rec.owners, NO_INDEX);
	ck_assert_uint_eq(rec.flags, 0);
	ck_assert_uint_eq(rec.selected, 0);
}
END_TEST

/* Every state the kernel prints, 01 to 0B, in both files. */
START_TEST(test_parse_every_state)
{
	char line[512];
	struct sock_rec rec;
	int st = _i + 1;

	snprintf(line, sizeof(line),
		 "   1: 0100007F:1F90 0100007F:D431 %02X 00000000:00000000 "
		 "00:00000000 00000000     0        0 321 1 0000000000000000 "
		 "20 4 30 10 -1\n",
		 (unsigned)st);
	ck_assert_int_eq(procnet_parse_line(line, AF_INET, &rec), 1);
	ck_assert_int_eq(rec.state, st);
	snprintf(line, sizeof(line),
		 "   1: 00000000000000000000000001000000:1F90 "
		 "00000000000000000000000001000000:D431 %02X 00000000:00000000 "
		 "00:00000000 00000000     0        0 321 1 0000000000000000 "
		 "20 4 30 10 -1\n",
		 (unsigned)st);
	ck_assert_int_eq(procnet_parse_line(line, AF_INET6, &rec), 1);
	ck_assert_int_eq(rec.state, st);
}
END_TEST

/* A good line to break one field at a time. */
#define L4_PRE "   1: "
#define L4_LOCAL "0100007F:1F90"
#define L4_REM "0100007F:D431"
#define L4_ST "01"
#define L4_Q "00000000:00000000"
#define L4_TR "00:00000000"
#define L4_RETR "00000000"
#define L4_UID "1000"
#define L4_TO "0"
#define L4_INODE "321"
#define L4_TAIL " 1 0000000000000000 20 4 30 10 -1\n"
#define LINE4(pre, local, rem, st, q, tr, retr, uid, to, inode)                 \
	pre local " " rem " " st " " q " " tr " " retr "  " uid "        " to " " \
		inode L4_TAIL

struct bad_row {
	const char *line;
	int family;
};

static const struct bad_row bad_rows[] = {
	{ "", AF_INET },
	{ "\n", AF_INET },
	{ "    \n", AF_INET },
	{ "   1:", AF_INET },
	{ "   1: 0100007F:1F90", AF_INET },
	{ "   1: 0100007F:1F90 0100007F:D431 01", AF_INET },
	{ "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 "
	  "00000000  1000",
	  AF_INET },
	/* Up to the timeout, without the inode. */
	{ "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 "
	  "00000000  1000        0\n",
	  AF_INET },
	/* The slot number. */
	{ LINE4("   1 ", L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4("   x: ", L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	/* Addresses: bad hex, short, long, no colon, port short or long. */
	{ LINE4(L4_PRE, "0100007G:1F90", L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, "100007F:1F90", L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, "0100007F0:1F90", L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, "0100007F1F90", L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, "0100007F:F90", L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, "0100007F:01F90", L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, "0100007F:1F9G", L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, "0100007F:D43", L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, "-100007F:D431", L4_ST, L4_Q, L4_TR, L4_RETR,
		L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	/* States out of range or mis-sized. */
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, "00", L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, "0C", L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, "0D", L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, "FF", L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, "1", L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, "001", L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, "0G", L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET },
	/* Queues. */
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, "000000000:00000000", L4_TR,
		L4_RETR, L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, "00000000:000000000", L4_TR,
		L4_RETR, L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, "0000000000000000", L4_TR,
		L4_RETR, L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, "00000000:0000000Z", L4_TR,
		L4_RETR, L4_UID, L4_TO, L4_INODE),
	  AF_INET },
	/* uid and inode: not numbers, signed, past 32 bits. */
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR, "-1",
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR,
		"4294967296", L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR, "10x0",
		L4_TO, L4_INODE),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, "32x1"),
	  AF_INET },
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, "99999999999999999999"),
	  AF_INET },
	/* A line of the other file. */
	{ LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST, L4_Q, L4_TR, L4_RETR, L4_UID,
		L4_TO, L4_INODE),
	  AF_INET6 },
	{ "   1: 00000000000000000000000001000000:2382 "
	  "00000000000000000000000001000000:A98A 01 00000000:00000064 00:00000000 "
	  "00000000     0        0 23703 1 00000000af99d737 20 4 30 10 -1\n",
	  AF_INET },
	/* tcp6 addresses of 31 and 33 digits. */
	{ "   1: 0000000000000000000000001000000:2382 "
	  "00000000000000000000000001000000:A98A 01 00000000:00000064 00:00000000 "
	  "00000000     0        0 23703 1 00000000af99d737 20 4 30 10 -1\n",
	  AF_INET6 },
	{ "   1: 00000000000000000000000001000000:2382 "
	  "000000000000000000000000010000000:A98A 01 00000000:00000064 00:00000000 "
	  "00000000     0        0 23703 1 00000000af99d737 20 4 30 10 -1\n",
	  AF_INET6 },
	{ "   1: 0000000000000000000000000100000G:2382 "
	  "00000000000000000000000001000000:A98A 01 00000000:00000064 00:00000000 "
	  "00000000     0        0 23703 1 00000000af99d737 20 4 30 10 -1\n",
	  AF_INET6 },
	/* Not a line of either file at all. */
	{ "hello world\n", AF_INET },
	{ "1: 2 3 4 5 6 7 8 9 10 11 12\n", AF_INET },
};

START_TEST(test_parse_bad_rows)
{
	const struct bad_row *r = &bad_rows[_i];
	struct sock_rec rec, before;
	int ret;

	memset(&rec, 0x5a, sizeof(rec));
	memcpy(&before, &rec, sizeof(rec));
	ret = procnet_parse_line(r->line, r->family, &rec);
	ck_assert_msg(ret == -EINVAL, "row %d (\"%s\"): returned %d, want -EINVAL",
		      _i, r->line, ret);
	ck_assert_msg(memcmp(&rec, &before, sizeof(rec)) == 0,
		      "row %d: a malformed line changed the record", _i);
}
END_TEST

/* The control line of the table: every field good parses. */
START_TEST(test_parse_control_line)
{
	struct sock_rec rec;

	ck_assert_int_eq(procnet_parse_line(LINE4(L4_PRE, L4_LOCAL, L4_REM, L4_ST,
						  L4_Q, L4_TR, L4_RETR, L4_UID,
						  L4_TO, L4_INODE),
					    AF_INET, &rec),
			 1);
	ck_assert_uint_eq(rec.uid, 1000);
	ck_assert_uint_eq(rec.inode, 321);
	ck_assert_uint_eq(rec.rport, 54321);
}
END_TEST

/* ---- procnet_read on tests/data/proc ------------------------------- */

static char proc_root[PATH_MAX];
static char bad_root[PATH_MAX];

static void set_roots(void)
{
	const char *d = test_data_dir();

	snprintf(proc_root, sizeof(proc_root), "%s/proc", d);
	snprintf(bad_root, sizeof(bad_root), "%s/proc-malformed", d);
}

static size_t count_state(const struct sock_table *t, int state)
{
	size_t i, n = 0;

	for (i = 0; i < t->nsocks; i++)
		n += t->socks[i].state == state;
	return n;
}

static const struct sock_rec *find_inode(const struct sock_table *t,
					 uint32_t inode)
{
	size_t i;

	for (i = 0; i < t->nsocks; i++)
		if (t->socks[i].inode == inode)
			return &t->socks[i];
	return NULL;
}

struct read_row {
	unsigned families;
	uint32_t states;
	size_t nsocks, ninet6;
	unsigned lines;
};

/* The recording: tcp holds LISTEN 8080, three ESTABLISHED, a FIN-WAIT-2,
 * a TIME-WAIT and a CLOSE-WAIT; tcp6 a LISTEN 9090 and three
 * ESTABLISHED, one IPv4-mapped. */
static const struct read_row read_rows[] = {
	{ FAMILY_BOTH, STATES_ALL, 11, 4, 11 },
	{ FAMILY_INET, STATES_ALL, 7, 0, 7 },
	{ FAMILY_INET6, STATES_ALL, 4, 4, 4 },
	{ FAMILY_BOTH, STATE_BIT(ST_ESTABLISHED), 6, 3, 11 },
	{ FAMILY_INET6, STATE_BIT(ST_ESTABLISHED), 3, 3, 4 },
	{ FAMILY_BOTH, STATE_BIT(ST_LISTEN), 2, 1, 11 },
	{ FAMILY_BOTH, STATE_BIT(ST_CLOSE_WAIT), 1, 0, 11 },
	{ FAMILY_BOTH, STATE_BIT(ST_TIME_WAIT) | STATE_BIT(ST_FIN_WAIT2), 2, 0, 11 },
	{ FAMILY_BOTH, STATE_BIT(ST_SYN_SENT), 0, 0, 11 },
	{ FAMILY_BOTH, 0, 0, 0, 11 },
};

START_TEST(test_read_rows)
{
	const struct read_row *r = &read_rows[_i];
	struct sock_table t;
	struct procnet_stats st;
	size_t i, n6 = 0;

	table_init(&t);
	memset(&st, 0xff, sizeof(st));
	ck_assert_int_eq(procnet_read(proc_root, &t, r->families, r->states, &st), 0);
	ck_assert_msg(t.nsocks == r->nsocks, "row %d: %zu sockets, want %zu", _i,
		      t.nsocks, r->nsocks);
	ck_assert_uint_eq(st.malformed, 0);
	ck_assert_msg(st.lines == r->lines, "row %d: stats.lines %u, want %u", _i,
		      st.lines, r->lines);
	for (i = 0; i < t.nsocks; i++) {
		const struct sock_rec *s = &t.socks[i];

		ck_assert(r->states & STATE_BIT(s->state));
		ck_assert(s->family == AF_INET || s->family == AF_INET6);
		ck_assert(s->family == AF_INET6 ? (r->families & FAMILY_INET6)
						: (r->families & FAMILY_INET));
		ck_assert_uint_eq(s->has_times, 0);
		ck_assert_uint_eq(s->owners, NO_INDEX);
		n6 += s->family == AF_INET6;
	}
	ck_assert_uint_eq(n6, r->ninet6);
	/* Listeners are marked whatever the state selection. */
	ck_assert_int_eq(table_has_listener(&t, 0, 8080),
			 (r->families & FAMILY_INET) != 0);
	ck_assert_int_eq(table_has_listener(&t, 0, 9090),
			 (r->families & FAMILY_INET6) != 0);
	ck_assert_int_eq(table_has_listener(&t, 0, 60872), 0);
	ck_assert_int_eq(table_has_listener(&t, 0, 43402), 0);
	ck_assert_int_eq(table_has_listener(&t, 0, 0), 0);
	table_free(&t);
}
END_TEST

START_TEST(test_read_records)
{
	struct sock_table t;
	struct procnet_stats st;
	const struct sock_rec *s;
	unsigned char a[16];

	table_init(&t);
	ck_assert_int_eq(procnet_read(proc_root, &t, FAMILY_BOTH, STATES_ALL, &st), 0);
	ck_assert_uint_eq(count_state(&t, ST_LISTEN), 2);
	ck_assert_uint_eq(count_state(&t, ST_ESTABLISHED), 6);
	ck_assert_uint_eq(count_state(&t, ST_CLOSE_WAIT), 1);
	ck_assert_uint_eq(count_state(&t, ST_FIN_WAIT2), 1);
	ck_assert_uint_eq(count_state(&t, ST_TIME_WAIT), 1);

	/* The server end holding 5 unread bytes. */
	s = find_inode(&t, 23696);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->family, AF_INET);
	ck_assert_int_eq(s->state, ST_ESTABLISHED);
	ck_assert_uint_eq(s->lport, 8080);
	ck_assert_uint_eq(s->rport, 60872);
	ck_assert_uint_eq(s->recv_q, 5);
	inet_pton(AF_INET, "127.0.0.1", a);
	ck_assert(memcmp(s->laddr, a, 4) == 0 && memcmp(s->raddr, a, 4) == 0);

	/* CLOSE-WAIT counts the peer's FIN in recv_q. */
	s = find_inode(&t, 23698);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->state, ST_CLOSE_WAIT);
	ck_assert_uint_eq(s->recv_q, 1);

	/* The IPv4-mapped connection stays inet6. */
	s = find_inode(&t, 23705);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->family, AF_INET6);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
	ck_assert(memcmp(s->laddr, a, 16) == 0 && memcmp(s->raddr, a, 16) == 0);
	ck_assert_uint_eq(s->lport, 9090);
	ck_assert_uint_eq(s->rport, 40538);

	s = find_inode(&t, 23703);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->recv_q, 100);
	inet_pton(AF_INET6, "::1", a);
	ck_assert(memcmp(s->laddr, a, 16) == 0);
	table_free(&t);
}
END_TEST

/* Malformed lines are skipped and counted; the good ones are kept. */
START_TEST(test_read_malformed)
{
	struct sock_table t;
	struct procnet_stats st;

	table_init(&t);
	ck_assert_int_eq(procnet_read(bad_root, &t, FAMILY_INET, STATES_ALL, &st), 0);
	ck_assert_uint_eq(t.nsocks, 2);
	ck_assert_uint_eq(st.lines, 2);
	ck_assert_uint_eq(st.malformed, 3);
	ck_assert_uint_eq(t.socks[0].inode, 31001);
	ck_assert_uint_eq(t.socks[0].uid, 1000);
	ck_assert_uint_eq(t.socks[1].inode, 31005);
	ck_assert_uint_eq(t.socks[1].recv_q, 3);
	ck_assert(table_has_listener(&t, 0, 8080));
	table_free(&t);
}
END_TEST

/* A file that was asked for and is missing is an error... */
START_TEST(test_read_missing)
{
	struct sock_table t;
	struct procnet_stats st;
	char nowhere[PATH_MAX + 16];

	table_init(&t);
	snprintf(nowhere, sizeof(nowhere), "%s/nonexistent", proc_root);
	ck_assert_int_eq(procnet_read(nowhere, &t, FAMILY_BOTH, STATES_ALL, &st),
			 -ENOENT);
	ck_assert_int_eq(procnet_read(nowhere, &t, FAMILY_INET, STATES_ALL, &st),
			 -ENOENT);
	ck_assert_int_eq(procnet_read(bad_root, &t, FAMILY_INET6, STATES_ALL, &st),
			 -ENOENT);
	ck_assert_uint_eq(t.nsocks, 0);
	table_free(&t);
}
END_TEST

/* ...but a kernel without IPv6 has no tcp6: with both families asked
 * for, the IPv4 file alone is a complete answer (source_procnet.c). */
START_TEST(test_read_no_ipv6)
{
	struct sock_table t;
	struct procnet_stats st;

	table_init(&t);
	ck_assert_int_eq(procnet_read(bad_root, &t, FAMILY_BOTH, STATES_ALL, &st), 0);
	ck_assert_uint_eq(t.nsocks, 2);
	table_free(&t);
}
END_TEST

/*
 * A read that raced with the kernel lists sockets twice (the kernel
 * resumes each read at a position within a hash bucket that moved):
 * tests/data/proc-repeated is tests/data/proc with inode 23695 and the
 * TIME-WAIT socket (inode 0) listed a second time.  Each socket is kept
 * once, in the order first read, and the read is flagged: it was tried
 * again and still repeated (the file does not change).
 */
START_TEST(test_read_repeated)
{
	static const uint32_t inodes[] = { 23694, 23695, 0, 0, 23704, 23696, 23698 };
	static const uint8_t states[] = { ST_LISTEN,	 ST_ESTABLISHED, ST_FIN_WAIT2,
					  ST_TIME_WAIT,	 ST_ESTABLISHED, ST_ESTABLISHED,
					  ST_CLOSE_WAIT };
	char root[PATH_MAX + 16];
	struct sock_table t;
	struct procnet_stats st;

	snprintf(root, sizeof(root), "%s-repeated", proc_root);
	table_init(&t);
	ck_assert_int_eq(procnet_read(root, &t, FAMILY_INET, STATES_ALL, &st), 0);
	ck_assert_msg(t.nsocks == 7, "%zu sockets, want 7", t.nsocks);
	for (size_t i = 0; i < 7; i++) {
		ck_assert_uint_eq(t.socks[i].inode, inodes[i]);
		ck_assert_uint_eq(t.socks[i].state, states[i]);
	}
	ck_assert_int_eq(st.inconsistent, 1);
	ck_assert_uint_eq(st.lines, 9);
	ck_assert_uint_eq(st.malformed, 0);
	table_free(&t);

	/* The recording without repeats is read once and not flagged. */
	table_init(&t);
	ck_assert_int_eq(procnet_read(proc_root, &t, FAMILY_INET, STATES_ALL, &st), 0);
	ck_assert_uint_eq(t.nsocks, 7);
	ck_assert_int_eq(st.inconsistent, 0);
	table_free(&t);
}
END_TEST

/* table_drop_repeats: which records are the same socket. */
struct repeat_row {
	const char *what;
	struct {
		uint32_t inode;
		uint8_t state;
		uint16_t lport, rport;
	} recs[4];
	size_t n, from;
	size_t keep; /* records left */
};

static const struct repeat_row repeat_rows[] = {
	{ "same inode", { { 7, ST_ESTABLISHED, 1, 2 }, { 7, ST_ESTABLISHED, 1, 2 } }, 2, 0, 1 },
	{ "same inode, state moved on",
	  { { 7, ST_ESTABLISHED, 1, 2 }, { 7, ST_CLOSE_WAIT, 1, 2 } }, 2, 0, 1 },
	{ "inode 0, same state and ends",
	  { { 0, ST_TIME_WAIT, 1, 2 }, { 0, ST_TIME_WAIT, 1, 2 } }, 2, 0, 1 },
	{ "inode 0, another state", { { 0, ST_TIME_WAIT, 1, 2 }, { 0, ST_FIN_WAIT2, 1, 2 } },
	  2, 0, 2 },
	{ "inode 0, another port", { { 0, ST_TIME_WAIT, 1, 2 }, { 0, ST_TIME_WAIT, 1, 3 } },
	  2, 0, 2 },
	{ "inode 0 and an inode, same ends",
	  { { 0, ST_SYN_RECV, 1, 2 }, { 9, ST_ESTABLISHED, 1, 2 } }, 2, 0, 2 },
	{ "two listeners on one port (SO_REUSEPORT)",
	  { { 5, ST_LISTEN, 80, 0 }, { 6, ST_LISTEN, 80, 0 } }, 2, 0, 2 },
	{ "before `from` is left alone",
	  { { 7, ST_ESTABLISHED, 1, 2 }, { 7, ST_ESTABLISHED, 1, 2 }, { 8, ST_ESTABLISHED, 3, 4 },
	    { 8, ST_ESTABLISHED, 3, 4 } }, 4, 1, 3 },
};

START_TEST(test_drop_repeats)
{
	const struct repeat_row *r = &repeat_rows[_i];
	struct sock_table t;

	table_init(&t);
	for (size_t i = 0; i < r->n; i++) {
		struct sock_rec *s = table_add_sock(&t);

		ck_assert_ptr_nonnull(s);
		s->family = AF_INET;
		s->inode = r->recs[i].inode;
		s->state = r->recs[i].state;
		s->lport = r->recs[i].lport;
		s->rport = r->recs[i].rport;
	}
	ck_assert_int_eq(table_drop_repeats(&t, r->from), (ssize_t)(r->n - r->keep));
	ck_assert_msg(t.nsocks == r->keep, "%s: %zu records left, want %zu", r->what,
		      t.nsocks, r->keep);
	/* The first of each is kept, in order. */
	ck_assert_uint_eq(t.socks[0].inode, r->recs[0].inode);
	ck_assert_uint_eq(t.socks[0].state, r->recs[0].state);
	table_free(&t);
}
END_TEST

static Suite *procnet_suite(void)
{
	Suite *s = suite_create("procnet");
	TCase *tc = tcase_create("parse_line");

	tcase_add_loop_test(tc, test_parse_good_rows, 0, NROWS(good_rows));
	tcase_add_loop_test(tc, test_parse_every_state, 0, 11);
	tcase_add_loop_test(tc, test_parse_bad_rows, 0, NROWS(bad_rows));
	tcase_add_test(tc, test_parse_control_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_loop_test(tc, test_read_rows, 0, NROWS(read_rows));
	tcase_add_test(tc, test_read_records);
	tcase_add_test(tc, test_read_malformed);
	tcase_add_test(tc, test_read_missing);
	tcase_add_test(tc, test_read_no_ipv6);
	tcase_add_test(tc, test_read_repeated);
	tcase_add_loop_test(tc, test_drop_repeats, 0, NROWS(repeat_rows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed;

	set_roots();
	failed = run_suite(procnet_suite());
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
