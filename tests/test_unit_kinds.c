/*
 * Unit tests for the UDP and UNIX decoders (source_udp.h, source_unix.h,
 * netlink_decode_proto): table rows of /proc lines, and recorded dumps
 * of a known set of sockets (tests/data/record_kinds.py):
 * netlink/dump_udp*.bin, dump_unix.bin and proc/net/udp*, unix, recorded
 * at the same moment, so both sources must agree socket by socket.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "audit.h"
#include "growth.h"
#include "options.h"
#include "parse.h"
#include "source_netlink.h"
#include "source_udp.h"
#include "source_unix.h"
#include "table.h"
#include "lib/runsuite.h"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The recording's port id (tests/data/record_kinds.py prints it). */
#define REC_PORTID 2400
#define REC_PATH "/tmp/sockaudit-rec.sock"
#define REC_ABSTRACT "\0sockaudit-rec"

static char data_dir[PATH_MAX];

/* A file of the fixture tree into a heap block of exactly its size. */
static unsigned char *slurp(const char *name, size_t *len)
{
	char path[PATH_MAX + 64];
	unsigned char *b;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 1);
	rewind(f);
	b = malloc((size_t)n);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* ---- /proc/net/udp lines ------------------------------------------- */

static const struct udp_row {
	const char *line;
	int family;
	int rc;
	uint8_t state;
	uint16_t lport, rport;
	uint32_t inode, recv_q, drops;
} udp_rows[] = {
	{ "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
	  "retrnsmt   uid  timeout inode ref pointer drops            \n",
	  AF_INET, 0, 0, 0, 0, 0, 0, 0 },
	{ " 4107: 0100007F:14E9 00000000:0000 07 00000000:000009C0 00:00000000 "
	  "00000000     0        0 15334588 2 0000000064754aad 0      \n",
	  AF_INET, 1, ST_CLOSE, 5353, 0, 15334588, 0x9c0, 0 },
	{ " 4108: 0100007F:14EA 00000000:0000 07 00000000:00000900 00:00000000 "
	  "00000000     0        0 15334590 2 00000000135ab747 199    \n",
	  AF_INET, 1, ST_CLOSE, 5354, 0, 15334590, 0x900, 199 },
	{ " 5366: 0100007F:D9D4 0100007F:14E9 01 00000000:00000000 00:00000000 "
	  "00000000     0        0 15334589 2 00000000c2a0d5ec 0",
	  AF_INET, 1, ST_ESTABLISHED, 55764, 5353, 15334589, 0, 0 },
	{ " 1509: 00000000000000000000000001000000:8AC3 "
	  "00000000000000000000000001000000:14EB 01 00000000:00000000 "
	  "00:00000000 00000000     0        0 15334593 2 00000000aed83dab 0\n",
	  AF_INET6, 1, ST_ESTABLISHED, 35523, 5355, 15334593, 0, 0 },
	/* drops at the 32-bit bound, and past it */
	{ " 1: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 "
	  "00000000 0 0 7 2 0000000000000000 4294967295\n",
	  AF_INET, 1, ST_CLOSE, 5353, 0, 7, 0, 4294967295u },
	{ " 1: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 "
	  "00000000 0 0 7 2 0000000000000000 4294967296\n",
	  AF_INET, -EINVAL, 0, 0, 0, 0, 0, 0 },
	/* no drops column (a tcp line), a bad drops value, a TCP state */
	{ " 1: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 "
	  "00000000 0 0 7\n",
	  AF_INET, -EINVAL, 0, 0, 0, 0, 0, 0 },
	{ " 1: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 "
	  "00000000 0 0 7 2 0000000000000000 1x\n",
	  AF_INET, -EINVAL, 0, 0, 0, 0, 0, 0 },
	{ " 1: 0100007F:14E9 00000000:0000 0A 00000000:00000000 00:00000000 "
	  "00000000 0 0 7 2 0000000000000000 0\n",
	  AF_INET, -EINVAL, 0, 0, 0, 0, 0, 0 },
	{ "", AF_INET, -EINVAL, 0, 0, 0, 0, 0, 0 },
};

START_TEST(test_udp_rows)
{
	const struct udp_row *row = &udp_rows[_i];
	struct sock_rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = udp_parse_line(row->line, row->family, &r);
	ck_assert_int_eq(rc, row->rc);
	if (rc != 1)
		return;
	ck_assert_uint_eq(r.protocol, PROTO_UDP);
	ck_assert_uint_eq(r.family, row->family);
	ck_assert_uint_eq(r.state, row->state);
	ck_assert_uint_eq(r.lport, row->lport);
	ck_assert_uint_eq(r.rport, row->rport);
	ck_assert_uint_eq(r.inode, row->inode);
	ck_assert_uint_eq(r.recv_q, row->recv_q);
	ck_assert_uint_eq(r.drops, row->drops);
	/* /proc/net/udp has the uid and queues. */
	ck_assert_uint_eq(r.unknown, 0);
}
END_TEST

/* ---- /proc/net/unix lines ------------------------------------------ */

static const struct unix_row {
	const char *line;
	int rc;
	uint8_t state, utype;
	uint32_t inode;
	const char *name; /* NULL: unbound */
	size_t name_len;
} unix_rows[] = {
	{ "Num       RefCount Protocol Flags    Type St Inode Path\n", 0, 0, 0, 0,
	  NULL, 0 },
	{ "00000000c78cad40: 00000003 00000000 00000000 0002 03 15334604\n", 1,
	  ST_ESTABLISHED, SOCK_DGRAM, 15334604, NULL, 0 },
	{ "000000002768c535: 00000002 00000000 00000000 0002 01 15334606\n", 1,
	  ST_CLOSE, SOCK_DGRAM, 15334606, NULL, 0 },
	{ "00000000e02b14fd: 00000003 00000000 00000000 0001 03 15334599 "
	  "@sockaudit-rec\n",
	  1, ST_ESTABLISHED, SOCK_STREAM, 15334599, REC_ABSTRACT, 14 },
	{ "00000000584bcef6: 00000002 00000000 00010000 0001 01 15334594 "
	  REC_PATH "\n",
	  1, ST_LISTEN, SOCK_STREAM, 15334594, REC_PATH, sizeof(REC_PATH) - 1 },
	{ "000000008f64ec63: 00000003 00000000 00000000 0005 03 15334603", 1,
	  ST_ESTABLISHED, SOCK_SEQPACKET, 15334603, NULL, 0 },
	/* a name with spaces and bytes that are not UTF-8, kept raw */
	{ "0000000000000000: 00000002 00000000 00000000 0002 01 9 /tmp/a b\xff\n",
	  1, ST_CLOSE, SOCK_DGRAM, 9, "/tmp/a b\xff", 9 },
	/* an abstract name with a NUL inside prints "@" for it */
	{ "0000000000000000: 00000002 00000000 00000000 0002 01 9 @a@b\n", 1,
	  ST_CLOSE, SOCK_DGRAM, 9, "\0a@b", 4 },
	/* malformed: an unknown type, a missing inode, no colon, a bad
	 * inode, a 17-digit address, a name past 255 bytes (below) */
	{ "0000000000000000: 00000002 00000000 00000000 0003 01 9\n", -EINVAL, 0,
	  0, 0, NULL, 0 },
	{ "0000000000000000: 00000002 00000000 00000000 0002 01\n", -EINVAL, 0, 0,
	  0, NULL, 0 },
	{ "0000000000000000 00000002 00000000 00000000 0002 01 9\n", -EINVAL, 0,
	  0, 0, NULL, 0 },
	{ "0000000000000000: 00000002 00000000 00000000 0002 01 9x\n", -EINVAL, 0,
	  0, 0, NULL, 0 },
	{ "00000000000000000: 00000002 00000000 00000000 0002 01 9\n", -EINVAL,
	  0, 0, 0, NULL, 0 },
	{ "", -EINVAL, 0, 0, 0, NULL, 0 },
};

START_TEST(test_unix_rows)
{
	const struct unix_row *row = &unix_rows[_i];
	unsigned char name[256];
	struct sock_rec r;
	size_t nlen = 99;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = unix_parse_line(row->line, &r, name, &nlen);
	ck_assert_int_eq(rc, row->rc);
	if (rc != 1)
		return;
	ck_assert_uint_eq(r.protocol, PROTO_UNIX);
	ck_assert_uint_eq(r.family, AF_UNIX);
	ck_assert_uint_eq(r.state, row->state);
	ck_assert_uint_eq(r.utype, row->utype);
	ck_assert_uint_eq(r.inode, row->inode);
	ck_assert_uint_eq(r.has_shutdown, 0);
	ck_assert_uint_eq(r.ux.peer_inode, 0);
	/* The file has no uid or queues: unknown, not 0. */
	ck_assert_uint_eq(r.unknown, SOCK_UNKNOWN_UID | SOCK_UNKNOWN_QUEUES);
	ck_assert_uint_eq(nlen, row->name_len);
	if (row->name)
		ck_assert(memcmp(name, row->name, nlen) == 0);
}
END_TEST

/* A name longer than any sun_path is malformed, not truncated. */
START_TEST(test_unix_long_name)
{
	char line[600];
	unsigned char name[256];
	struct sock_rec r;
	size_t nlen;
	int n = snprintf(line, sizeof(line),
			 "0000000000000000: 00000002 00000000 00000000 0002 01 9 ");

	memset(line + n, 'a', 256);
	line[n + 256] = '\0';
	ck_assert_int_eq(unix_parse_line(line, &r, name, &nlen), -EINVAL);
	line[n + 255] = '\0';
	ck_assert_int_eq(unix_parse_line(line, &r, name, &nlen), 1);
	ck_assert_uint_eq(nlen, 255);
}
END_TEST

/* ---- recorded dumps ------------------------------------------------ */

/* Decode a recorded dump of `protocol` into t (appending). */
static void decode_file(const char *name, uint32_t seq, unsigned protocol,
			struct sock_table *t)
{
	unsigned char *b;
	size_t len;
	int intr = 0;

	b = slurp(name, &len);
	ck_assert_int_eq(netlink_decode_proto(b, len, seq, REC_PORTID, protocol,
					      t, &intr),
			 0);
	ck_assert_int_eq(intr, 0);
	free(b);
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

/* The socket bound to this UDP port, the first found. */
static const struct sock_rec *find_lport(const struct sock_table *t,
					 uint16_t port)
{
	size_t i;

	for (i = 0; i < t->nsocks; i++)
		if (t->socks[i].lport == port)
			return &t->socks[i];
	return NULL;
}

START_TEST(test_recorded_udp)
{
	struct sock_table nl, pr;
	struct udp_stats st;
	const struct sock_rec *s, *p;
	char root[PATH_MAX + 8];
	size_t i;

	table_init(&nl);
	table_init(&pr);
	decode_file("netlink/dump_udp.bin", 2000, PROTO_UDP, &nl);
	decode_file("netlink/dump_udp6.bin", 2001, PROTO_UDP, &nl);
	snprintf(root, sizeof(root), "%s/proc", data_dir);
	ck_assert_int_eq(udp_proc_read(root, &pr, FAMILY_BOTH, STATES_ALL, &st), 0);
	ck_assert_uint_eq(st.malformed, 0);
	ck_assert_uint_eq(nl.nsocks, 5);
	ck_assert_uint_eq(pr.nsocks, 5);
	for (i = 0; i < nl.nsocks; i++) {
		s = &nl.socks[i];
		p = find_inode(&pr, s->inode);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(s->protocol, PROTO_UDP);
		ck_assert_uint_eq(p->protocol, PROTO_UDP);
		ck_assert_uint_eq(s->family, p->family);
		ck_assert_uint_eq(s->state, p->state);
		ck_assert_uint_eq(s->lport, p->lport);
		ck_assert_uint_eq(s->rport, p->rport);
		ck_assert(memcmp(s->laddr, p->laddr, 16) == 0);
		ck_assert(memcmp(s->raddr, p->raddr, 16) == 0);
		ck_assert_uint_eq(s->recv_q, p->recv_q);
		ck_assert_uint_eq(s->drops, p->drops);
		ck_assert_uint_eq(s->has_times, 0);
	}
	/* The flooded reader dropped; the other kept 3 datagrams. */
	s = find_lport(&nl, 5354);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->state, ST_CLOSE);
	ck_assert_uint_gt(s->drops, 0);
	s = find_lport(&nl, 5353);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->drops, 0);
	ck_assert_uint_gt(s->recv_q, 0);
	s = find_lport(&nl, 5355);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->family, AF_INET6);
	/* UDP has no listeners. */
	ck_assert_uint_eq(nl.nlisteners, 0);
	table_free(&nl);
	table_free(&pr);
}
END_TEST

/* The socket with this name, the listener when there is one. */
static const struct sock_rec *find_name(const struct sock_table *t,
					const char *name, size_t len,
					uint8_t state)
{
	const unsigned char *n;
	size_t i;

	for (i = 0; i < t->nsocks; i++)
		if (t->socks[i].state == state &&
		    table_path(t, &t->socks[i], &n) == len && !memcmp(n, name, len))
			return &t->socks[i];
	return NULL;
}

START_TEST(test_recorded_unix)
{
	struct sock_table nl, pr;
	struct unix_stats st;
	const struct sock_rec *s, *p, *peer;
	const unsigned char *n1, *n2;
	char root[PATH_MAX + 8];
	size_t i, l1, l2, closed = 0;

	table_init(&nl);
	table_init(&pr);
	decode_file("netlink/dump_unix.bin", 2002, PROTO_UNIX, &nl);
	snprintf(root, sizeof(root), "%s/proc", data_dir);
	ck_assert_int_eq(unix_proc_read(root, &pr, STATES_ALL, &st), 0);
	ck_assert_uint_eq(st.malformed, 0);
	ck_assert_uint_eq(nl.nsocks, 12);
	ck_assert_uint_eq(pr.nsocks, 12);
	for (i = 0; i < nl.nsocks; i++) {
		s = &nl.socks[i];
		p = find_inode(&pr, s->inode);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(s->protocol, PROTO_UNIX);
		ck_assert_uint_eq(s->family, AF_UNIX);
		ck_assert_uint_eq(s->utype, p->utype);
		ck_assert_uint_eq(s->state, p->state);
		ck_assert_uint_eq(s->has_shutdown, 1);
		ck_assert_uint_eq(p->has_shutdown, 0);
		ck_assert_uint_eq(s->unknown, 0);
		ck_assert_uint_eq(p->unknown, SOCK_UNKNOWN_UID | SOCK_UNKNOWN_QUEUES);
		l1 = table_path(&nl, s, &n1);
		l2 = table_path(&pr, p, &n2);
		ck_assert_uint_eq(l1, l2);
		ck_assert(l1 == 0 || memcmp(n1, n2, l1) == 0);
		/* Every connected socket's peer is in the dump, and points
		 * back, except the one whose peer closed. */
		if (s->state == ST_ESTABLISHED && !(s->shutdown & UNIX_SHUT_RCV)) {
			peer = find_inode(&nl, s->ux.peer_inode);
			ck_assert_ptr_nonnull(peer);
			ck_assert_uint_eq(peer->ux.peer_inode, s->inode);
		}
		closed += (s->shutdown & UNIX_SHUT_RCV) != 0;
	}
	ck_assert_uint_eq(closed, 1);
	/* The path listener, its accepted end with 7 unread bytes. */
	s = find_name(&nl, REC_PATH, sizeof(REC_PATH) - 1, ST_LISTEN);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->utype, SOCK_STREAM);
	s = find_name(&nl, REC_PATH, sizeof(REC_PATH) - 1, ST_ESTABLISHED);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->recv_q, 7);
	peer = find_inode(&nl, s->ux.peer_inode);
	ck_assert_ptr_nonnull(peer);
	ck_assert_uint_eq(table_path(&nl, peer, &n1), 0);
	/* The abstract listener, with its leading NUL. */
	s = find_name(&nl, REC_ABSTRACT, 14, ST_LISTEN);
	ck_assert_ptr_nonnull(s);
	table_free(&nl);
	table_free(&pr);
}
END_TEST

/* Every cut of the recorded UNIX dump is a clean error or a partial
 * decode, never a read past the end (ASan, valgrind). */
START_TEST(test_recorded_unix_cuts)
{
	unsigned char *b, *cut;
	size_t len, i;

	b = slurp("netlink/dump_unix.bin", &len);
	for (i = 0; i < len; i++) {
		struct sock_table t;
		int intr = 0, rc;

		cut = malloc(i ? i : 1);
		ck_assert_ptr_nonnull(cut);
		memcpy(cut, b, i);
		table_init(&t);
		rc = netlink_decode_proto(cut, i, 2002, REC_PORTID, PROTO_UNIX, &t,
					  &intr);
		ck_assert(rc == 1 || rc == -EBADMSG);
		table_free(&t);
		free(cut);
	}
	free(b);
}
END_TEST

/* A unix_diag message of the wrong family, or too short, is malformed. */
START_TEST(test_unix_decode_bad)
{
	struct unix_diag_msg m;
	struct sock_table t;

	memset(&m, 0, sizeof(m));
	table_init(&t);
	m.udiag_family = AF_INET;
	m.udiag_type = SOCK_STREAM;
	ck_assert_int_eq(unix_diag_decode(&m, sizeof(m), &t), -EBADMSG);
	m.udiag_family = AF_UNIX;
	ck_assert_int_eq(unix_diag_decode(&m, sizeof(m) - 1, &t), -EBADMSG);
	ck_assert_uint_eq(t.nsocks, 0);
	/* SOCK_RAW and others are skipped, not errors. */
	m.udiag_type = SOCK_RAW;
	ck_assert_int_eq(unix_diag_decode(&m, sizeof(m), &t), 0);
	ck_assert_uint_eq(t.nsocks, 0);
	m.udiag_type = SOCK_DGRAM;
	m.udiag_state = 2; /* a connect in progress: unconnected */
	ck_assert_int_eq(unix_diag_decode(&m, sizeof(m), &t), 0);
	ck_assert_uint_eq(t.nsocks, 1);
	ck_assert_uint_eq(t.socks[0].state, ST_CLOSE);
	table_free(&t);
}
END_TEST

/*
 * The uid and queues of a unix_diag message are known only when their
 * attributes came: a kernel before 5.3 sends no UNIX_DIAG_UID.
 */
static const struct attr_row {
	bool rqlen, uid;
	unsigned unknown;
	uint32_t want_uid, want_rq, want_wq;
} attr_rows[] = {
	{ false, false, SOCK_UNKNOWN_UID | SOCK_UNKNOWN_QUEUES, 0, 0, 0 },
	{ true, false, SOCK_UNKNOWN_UID, 0, 1000, 2304 },
	{ false, true, SOCK_UNKNOWN_QUEUES, 65534, 0, 0 },
	{ true, true, 0, 65534, 1000, 2304 },
};

/* Append attribute `type` with `len` bytes of `data` at b + *off. */
static void put_attr(unsigned char *b, size_t *off, uint16_t type,
		     const void *data, size_t len)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };

	memcpy(b + *off, &a, sizeof(a));
	memcpy(b + *off + NLA_HDRLEN, data, len);
	*off += NLA_ALIGN(a.nla_len);
}

START_TEST(test_unix_decode_attrs)
{
	const struct attr_row *row = &attr_rows[_i];
	struct unix_diag_rqlen q = { .udiag_rqueue = 1000, .udiag_wqueue = 2304 };
	uint32_t uid = 65534;
	unsigned char b[256] = { 0 };
	struct unix_diag_msg m;
	struct sock_table t;
	size_t off = NLA_ALIGN(sizeof(m));

	memset(&m, 0, sizeof(m));
	m.udiag_family = AF_UNIX;
	m.udiag_type = SOCK_STREAM;
	m.udiag_state = ST_ESTABLISHED;
	m.udiag_ino = 77;
	memcpy(b, &m, sizeof(m));
	if (row->rqlen)
		put_attr(b, &off, UNIX_DIAG_RQLEN, &q, sizeof(q));
	if (row->uid)
		put_attr(b, &off, UNIX_DIAG_UID, &uid, sizeof(uid));
	table_init(&t);
	ck_assert_int_eq(unix_diag_decode(b, off, &t), 0);
	ck_assert_uint_eq(t.nsocks, 1);
	ck_assert_uint_eq(t.socks[0].unknown, row->unknown);
	ck_assert_uint_eq(t.socks[0].uid, row->want_uid);
	ck_assert_uint_eq(t.socks[0].recv_q, row->want_rq);
	ck_assert_uint_eq(t.socks[0].send_q, row->want_wq);
	ck_assert_int_eq(sock_has_uid(&t.socks[0]), row->uid);
	ck_assert_int_eq(sock_has_queues(&t.socks[0]), row->rqlen);
	table_free(&t);
}
END_TEST

/* ---- options: -t, -u, -x ----------------------------------------- */

static const struct kind_opt_row {
	const char *args[4];
	int rc;
	unsigned protocols;
} kind_opt_rows[] = {
	{ { NULL }, 0, PROTO_BIT(PROTO_TCP) },
	{ { "-u", NULL }, 0, PROTO_BIT(PROTO_UDP) },
	{ { "-x", NULL }, 0, PROTO_BIT(PROTO_UNIX) },
	{ { "-tux", NULL }, 0, PROTOS_ALL },
	{ { "--udp", "--unix", NULL }, 0, PROTO_BIT(PROTO_UDP) | PROTO_BIT(PROTO_UNIX) },
	{ { "-t", "-t", NULL }, 0, PROTO_BIT(PROTO_TCP) },
	{ { "--tcp=1", NULL }, 2, 0 },
	{ { "-xs", "unconnected", NULL }, 0, PROTO_BIT(PROTO_UNIX) },
	{ { "-uF", "dropping,peer_closed", NULL }, 0, PROTO_BIT(PROTO_UDP) },
	{ { "-F", "peer-closed", NULL }, 0, PROTO_BIT(PROTO_TCP) },
	{ { "-F", "drop", NULL }, 2, 0 },
};

START_TEST(test_kind_options)
{
	const struct kind_opt_row *row = &kind_opt_rows[_i];
	char *argv[6] = { "sockaudit" };
	struct options o;
	char err[256] = "";
	int argc = 1, rc;

	while (row->args[argc - 1])
		argv[argc] = (char *)row->args[argc - 1], argc++;
	rc = options_parse(argc, argv, &o, err, sizeof(err));
	ck_assert_msg(rc == row->rc, "%s: rc %d (%s)", row->args[0], rc, err);
	if (rc)
		return;
	ck_assert_uint_eq(o.protocols, row->protocols);
	if (argc > 2 && !strcmp(argv[1], "-xs"))
		ck_assert_uint_eq(o.states, STATE_BIT(ST_CLOSE));
	if (argc > 2 && !strcmp(argv[1], "-uF"))
		ck_assert_uint_eq(o.flags, FLAG_DROPPING | FLAG_PEER_CLOSED);
	options_free(&o);
}
END_TEST

/* ---- audit: flags, states, groups ---------------------------------- */

static const struct flag_row {
	uint8_t protocol, utype, state, has_shutdown, shutdown;
	uint32_t drops;
	unsigned flags;
	const char *json_state;
} flag_rows[] = {
	{ PROTO_UDP, 0, ST_CLOSE, 0, 0, 0, 0, "unconnected" },
	{ PROTO_UDP, 0, ST_CLOSE, 0, 0, 1, FLAG_DROPPING, "unconnected" },
	{ PROTO_UDP, 0, ST_ESTABLISHED, 0, 0, 7, FLAG_DROPPING, "established" },
	{ PROTO_UNIX, SOCK_STREAM, ST_ESTABLISHED, 1, UNIX_SHUT_RCV, 0,
	  FLAG_PEER_CLOSED, "established" },
	{ PROTO_UNIX, SOCK_STREAM, ST_ESTABLISHED, 1, 3, 0, FLAG_PEER_CLOSED,
	  "established" },
	{ PROTO_UNIX, SOCK_SEQPACKET, ST_ESTABLISHED, 1, UNIX_SHUT_RCV, 0,
	  FLAG_PEER_CLOSED, "established" },
	/* only our own write side shut down: the peer is still there */
	{ PROTO_UNIX, SOCK_STREAM, ST_ESTABLISHED, 1, UNIX_SHUT_SEND, 0, 0,
	  "established" },
	/* datagram sockets have no connection to lose */
	{ PROTO_UNIX, SOCK_DGRAM, ST_ESTABLISHED, 1, UNIX_SHUT_RCV, 0, 0,
	  "established" },
	/* /proc: no shutdown state, never flagged */
	{ PROTO_UNIX, SOCK_STREAM, ST_ESTABLISHED, 0, UNIX_SHUT_RCV, 0, 0,
	  "established" },
	{ PROTO_UNIX, SOCK_STREAM, ST_LISTEN, 1, UNIX_SHUT_RCV, 0, 0, "listen" },
	{ PROTO_UNIX, SOCK_DGRAM, ST_CLOSE, 1, 0, 0, 0, "unconnected" },
	/* a TCP socket in close is still "close" */
	{ PROTO_TCP, 0, ST_CLOSE, 0, 0, 5, 0, "close" },
};

START_TEST(test_kind_flags)
{
	const struct flag_row *row = &flag_rows[_i];
	struct sock_rec s;

	memset(&s, 0, sizeof(s));
	s.protocol = row->protocol;
	s.family = row->protocol == PROTO_UNIX ? AF_UNIX : AF_INET;
	s.utype = row->utype;
	s.state = row->state;
	s.has_shutdown = row->has_shutdown;
	s.shutdown = row->shutdown;
	s.drops = row->drops;
	ck_assert_uint_eq(audit_flags_of(&s, 0), row->flags);
	ck_assert_str_eq(sock_state_json_name(&s), row->json_state);
}
END_TEST

/* Add a UNIX socket to t. */
static struct sock_rec *add_unix(struct sock_table *t, uint32_t inode,
				 uint8_t state, const char *name, size_t len,
				 uint32_t peer)
{
	struct sock_rec *s = table_add_sock(t);

	ck_assert_ptr_nonnull(s);
	s->protocol = PROTO_UNIX;
	s->family = AF_UNIX;
	s->utype = SOCK_STREAM;
	s->state = state;
	s->inode = inode;
	s->has_local = 0;
	s->has_shutdown = 1;
	s->ux.peer_inode = peer;
	if (name)
		ck_assert_int_eq(table_set_path(t, s, name, len), 0);
	return s;
}

/* The group of the socket with this inode. */
static const struct group *group_of(const struct sock_table *t,
				    const struct audit *a, uint32_t inode)
{
	uint32_t i = table_find(t, inode);

	ck_assert_uint_ne(i, NO_INDEX);
	ck_assert_uint_ne(t->socks[i].group, NO_INDEX);
	return &a->groups[t->socks[i].group];
}

/*
 * Groups of UNIX sockets: a listener and its accepted sockets under the
 * listener's name (server), their clients under the peer's name (client,
 * one group whatever the pool offsets), an unnamed pair by process; UDP
 * by local port when unconnected, by peer when connected; TCP and UDP on
 * the same port apart.  -4 leaves UNIX out, and so does a port list.
 */
START_TEST(test_kind_groups)
{
	struct audit_opts o = { .states = STATES_ALL, .families = FAMILY_BOTH,
				.ephemeral_low = 32768 };
	const unsigned char *name;
	struct sock_table t;
	struct sock_rec *s;
	struct audit a;
	uint8_t ports[65536 / 8];

	table_init(&t);
	add_unix(&t, 10, ST_LISTEN, "/run/x.sock", 11, 0);
	add_unix(&t, 11, ST_ESTABLISHED, "/run/x.sock", 11, 21);
	add_unix(&t, 12, ST_ESTABLISHED, "/run/x.sock", 11, 22);
	add_unix(&t, 21, ST_ESTABLISHED, NULL, 0, 11);
	add_unix(&t, 22, ST_ESTABLISHED, NULL, 0, 12)->shutdown = UNIX_SHUT_RCV;
	add_unix(&t, 30, ST_ESTABLISHED, NULL, 0, 31);
	add_unix(&t, 31, ST_ESTABLISHED, NULL, 0, 30);
	add_unix(&t, 40, ST_LISTEN, "\0abs", 4, 0);
	s = table_add_sock(&t);
	s->protocol = PROTO_UDP;
	s->family = AF_INET;
	s->state = ST_CLOSE;
	s->lport = 53;
	s->inode = 50;
	s->drops = 3;
	s = table_add_sock(&t);
	s->family = AF_INET;
	s->state = ST_LISTEN;
	s->lport = 53;
	s->inode = 51;
	ck_assert_int_eq(table_mark_listener(&t, 53), 0);
	s = table_add_sock(&t);
	s->protocol = PROTO_UDP;
	s->family = AF_INET;
	s->state = ST_ESTABLISHED;
	s->lport = 40000;
	s->rport = 53;
	s->raddr[0] = 127;
	s->raddr[3] = 1;
	s->inode = 52;
	ck_assert_int_eq(table_index(&t), 0);

	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.nselected, t.nsocks);
	ck_assert_ptr_eq(group_of(&t, &a, 10), group_of(&t, &a, 11));
	ck_assert_ptr_eq(group_of(&t, &a, 10), group_of(&t, &a, 12));
	ck_assert_int_eq(group_of(&t, &a, 10)->side, SIDE_SERVER);
	ck_assert_uint_eq(group_of(&t, &a, 10)->n.sockets, 3);
	ck_assert_uint_eq(audit_group_path(&t, group_of(&t, &a, 10), &name), 11);
	ck_assert(!memcmp(name, "/run/x.sock", 11));
	ck_assert_ptr_eq(group_of(&t, &a, 21), group_of(&t, &a, 22));
	ck_assert_int_eq(group_of(&t, &a, 21)->side, SIDE_CLIENT);
	ck_assert_uint_eq(group_of(&t, &a, 21)->n.peer_closed, 1);
	ck_assert_uint_eq(audit_group_path(&t, group_of(&t, &a, 21), &name), 11);
	ck_assert_ptr_eq(group_of(&t, &a, 30), group_of(&t, &a, 31));
	ck_assert_int_eq(group_of(&t, &a, 30)->side, SIDE_PROCESS);
	ck_assert_ptr_ne(group_of(&t, &a, 40), group_of(&t, &a, 10));
	ck_assert_ptr_ne(group_of(&t, &a, 50), group_of(&t, &a, 51));
	ck_assert_int_eq(group_of(&t, &a, 50)->side, SIDE_SERVER);
	ck_assert_uint_eq(group_of(&t, &a, 50)->protocol, PROTO_UDP);
	ck_assert_uint_eq(group_of(&t, &a, 50)->n.dropping, 1);
	ck_assert_int_eq(group_of(&t, &a, 52)->side, SIDE_CLIENT);
	ck_assert_uint_eq(group_of(&t, &a, 52)->port, 53);
	/* the most suspicious first: the peer-closed clients */
	ck_assert_ptr_eq(&a.groups[0], group_of(&t, &a, 21));
	ck_assert_uint_eq(a.totals.peer_closed, 1);
	ck_assert_uint_eq(a.totals.dropping, 1);
	audit_free(&a);

	o.families = FAMILY_INET;
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.nselected, 3);
	audit_free(&a);
	o.families = FAMILY_BOTH;
	memset(ports, 0, sizeof(ports));
	ports[53 >> 3] |= 1u << (53 & 7);
	o.ports = ports;
	ck_assert_int_eq(audit_run(&t, &o, &a), 0);
	ck_assert_uint_eq(a.nselected, 2);
	audit_free(&a);
	table_free(&t);
}
END_TEST

/* One sample of the watch test: a TCP and a UDP server on port 53 and
 * two UNIX names, each table built afresh (names at other offsets). */
static void watch_table(struct sock_table *t, int pad)
{
	struct sock_rec *s;
	int i;

	table_init(t);
	/* Shift the pool so that the names' refs differ between samples
	 * (a name stored for no socket of the table). */
	if (pad) {
		struct sock_rec none;

		memset(&none, 0, sizeof(none));
		ck_assert_int_eq(table_set_path(t, &none, "/padding", 8), 0);
	}
	for (i = 0; i < 3; i++) {
		s = table_add_sock(t);
		s->family = AF_INET;
		s->state = i ? ST_ESTABLISHED : ST_LISTEN;
		s->lport = 53;
		s->rport = (uint16_t)(i ? 40000 + i : 0);
		s->inode = 100 + (uint32_t)i;
	}
	ck_assert_int_eq(table_mark_listener(t, 53), 0);
	s = table_add_sock(t);
	s->protocol = PROTO_UDP;
	s->family = AF_INET;
	s->state = ST_CLOSE;
	s->lport = 53;
	s->inode = 110;
	add_unix(t, 120, ST_LISTEN, "/run/a", 6, 0);
	add_unix(t, 121, ST_LISTEN, "/run/b", 6, 0);
	add_unix(t, 122, ST_ESTABLISHED, "/run/b", 6, 0);
	ck_assert_int_eq(table_index(t), 0);
}

/*
 * --watch keeps one series per group of every kind: TCP and UDP on the
 * same port, and UNIX groups of different names, are not one group
 * (which would make an unchanged host look like it grows).
 */
START_TEST(test_kind_growth_keys)
{
	struct audit_opts o = { .states = STATES_ALL, .families = FAMILY_BOTH,
				.ephemeral_low = 32768 };
	struct group_growth gg[16];
	struct growth g;
	int sample;
	size_t i;

	growth_init(&g);
	for (sample = 0; sample < 6; sample++) {
		struct sock_table t;
		struct audit a;

		watch_table(&t, sample & 1);
		ck_assert_int_eq(audit_run(&t, &o, &a), 0);
		ck_assert_uint_le(a.ngroups, 16);
		ck_assert_int_eq(growth_add(&g, &t, &a, 10.0 * sample, gg, NULL), 0);
		for (i = 0; sample && i < a.ngroups; i++) {
			ck_assert_msg(gg[i].delta == 0 && !gg[i].leaking,
				      "sample %d group %zu (protocol %u side %d): delta %lld",
				      sample, i, a.groups[i].protocol, a.groups[i].side,
				      (long long)gg[i].delta);
			ck_assert(gg[i].sockets_per_min == 0);
		}
		audit_free(&a);
		table_free(&t);
	}
	ck_assert_uint_eq(g.ngroups, 4); /* tcp 53, udp 53, /run/a, /run/b */
	growth_free(&g);
}
END_TEST

static Suite *kinds_suite(void)
{
	Suite *s = suite_create("kinds");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_udp_rows, 0, NROWS(udp_rows));
	tcase_add_loop_test(tc, test_unix_rows, 0, NROWS(unix_rows));
	tcase_add_test(tc, test_unix_long_name);
	tcase_add_test(tc, test_unix_decode_bad);
	tcase_add_loop_test(tc, test_unix_decode_attrs, 0, NROWS(attr_rows));
	tcase_add_loop_test(tc, test_kind_options, 0, NROWS(kind_opt_rows));
	tcase_add_loop_test(tc, test_kind_flags, 0, NROWS(flag_rows));
	tcase_add_test(tc, test_kind_groups);
	tcase_add_test(tc, test_kind_growth_keys);
	suite_add_tcase(s, tc);
	tc = tcase_create("recorded");
	tcase_add_test(tc, test_recorded_udp);
	tcase_add_test(tc, test_recorded_unix);
	tcase_add_test(tc, test_recorded_unix_cuts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	snprintf(data_dir, sizeof(data_dir), "%s", test_data_dir());
	return run_suite(kinds_suite());
}
