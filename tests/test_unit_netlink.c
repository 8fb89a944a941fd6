/*
 * Unit tests for source_netlink.h: netlink_decode fed bytes.  Most
 * buffers are built here, message by message, the way the kernel lays
 * them out (struct nlmsghdr, struct inet_diag_msg, attributes); two are
 * recorded dumps of a known set of sockets, tests/data/netlink/dump_inet*.bin
 * (see tests/data/record.py), recorded together with tests/data/proc.
 *
 * Every buffer is handed to the decoder in a heap block of exactly its
 * size, so that a read past the end is caught by the sanitizers.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "source_netlink.h"
#include "source_procnet.h"
#include "table.h"
#include "lib/runsuite.h"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define SEQ 4242
#define PORTID 777

/* ---- building messages --------------------------------------------- */

struct nlbuf {
	unsigned char b[16384] __attribute__((aligned(8)));
	size_t len;
};

/* Append a message with a payload; returns its header. */
static struct nlmsghdr *put_msg(struct nlbuf *nb, uint16_t type, uint16_t flags,
				uint32_t seq, uint32_t pid, const void *payload,
				size_t plen)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(nb->b + nb->len);

	ck_assert(nb->len + NLMSG_SPACE(plen) <= sizeof(nb->b));
	memset(h, 0, NLMSG_SPACE(plen));
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(plen);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = pid;
	if (plen)
		memcpy(NLMSG_DATA(h), payload, plen);
	nb->len += NLMSG_SPACE(plen);
	return h;
}

/* Append an attribute to the last message `h`. */
static void put_attr(struct nlbuf *nb, struct nlmsghdr *h, uint16_t type,
		     const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(nb->b + nb->len);
	size_t space = NLA_ALIGN(NLA_HDRLEN + len);

	ck_assert(nb->len + space <= sizeof(nb->b));
	memset(a, 0, space);
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	a->nla_type = type;
	memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
	nb->len += space;
	h->nlmsg_len = (uint32_t)((unsigned char *)a + space - (unsigned char *)h);
}

/* What goes into one inet_diag message. */
struct diag {
	int family;
	int state;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t inode, uid, rq, wq;
	size_t info_len; /* bytes of tcp_info to send; 0: no INET_DIAG_INFO */
	uint32_t last_recv, last_send;
	int extra_attrs; /* other attributes before INET_DIAG_INFO */
};

#define INFO_FULL sizeof(struct tcp_info)
/* tcp_info as far as tcpi_last_data_recv: an older, shorter layout. */
#define INFO_TO_RECV \
	(offsetof(struct tcp_info, tcpi_last_data_recv) + sizeof(uint32_t))
#define INFO_BEFORE_RECV offsetof(struct tcp_info, tcpi_last_data_recv)
/* Linux 2.6's struct tcp_info ended after tcpi_total_retrans. */
#define INFO_LINUX26 104
/* A newer kernel's: longer than our headers know (6.18 sends 284). */
#define INFO_NEWER 284

static void fill_diag_msg(struct inet_diag_msg *m, const struct diag *d)
{
	memset(m, 0, sizeof(*m));
	m->idiag_family = (uint8_t)d->family;
	m->idiag_state = (uint8_t)d->state;
	m->id.idiag_sport = htons(d->sport);
	m->id.idiag_dport = htons(d->dport);
	ck_assert_int_eq(inet_pton(d->family, d->src, m->id.idiag_src), 1);
	ck_assert_int_eq(inet_pton(d->family, d->dst, m->id.idiag_dst), 1);
	m->id.idiag_cookie[0] = 0x1234;
	m->idiag_rqueue = d->rq;
	m->idiag_wqueue = d->wq;
	m->idiag_uid = d->uid;
	m->idiag_inode = d->inode;
}

static struct nlmsghdr *put_diag(struct nlbuf *nb, uint16_t flags, uint32_t seq,
				 uint32_t pid, const struct diag *d)
{
	struct inet_diag_msg m;
	struct nlmsghdr *h;

	fill_diag_msg(&m, d);
	h = put_msg(nb, SOCK_DIAG_BY_FAMILY, flags, seq, pid, &m, sizeof(m));
	if (d->extra_attrs) {
		uint8_t shut = 0;
		uint32_t mark = 7;

		put_attr(nb, h, INET_DIAG_SHUTDOWN, &shut, 1);
		put_attr(nb, h, INET_DIAG_CONG, "cubic", 6);
		put_attr(nb, h, INET_DIAG_MARK, &mark, 4);
		/* A type newer than any header. */
		put_attr(nb, h, 200, "future", 6);
	}
	if (d->info_len) {
		unsigned char info[512];
		struct tcp_info ti;

		ck_assert(d->info_len <= sizeof(info));
		memset(info, 0x77, sizeof(info));
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_state = (uint8_t)d->state;
		ti.tcpi_last_data_recv = d->last_recv;
		ti.tcpi_last_data_sent = d->last_send;
		ti.tcpi_last_ack_recv = 1;
		memcpy(info, &ti, sizeof(ti) < d->info_len ? sizeof(ti) : d->info_len);
		put_attr(nb, h, INET_DIAG_INFO, info, d->info_len);
	}
	return h;
}

static void put_done(struct nlbuf *nb, uint16_t flags, uint32_t seq, int err)
{
	put_msg(nb, NLMSG_DONE, flags | NLM_F_MULTI, seq, PORTID, &err, sizeof(err));
}

static void put_error(struct nlbuf *nb, uint32_t seq, int err)
{
	struct nlmsgerr e;

	memset(&e, 0, sizeof(e));
	e.error = err;
	e.msg.nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_req_v2));
	e.msg.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	e.msg.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	e.msg.nlmsg_seq = seq;
	put_msg(nb, NLMSG_ERROR, 0, seq, PORTID, &e, sizeof(e));
}

/* Decode `len` bytes of nb from a heap block of exactly that size. */
static int decode(const void *bytes, size_t len, uint32_t seq, uint32_t portid,
		  struct sock_table *t, int *intr)
{
	void *copy = malloc(len ? len : 1);
	int ret;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, bytes, len);
	ret = netlink_decode(copy, len, seq, portid, t, intr);
	free(copy);
	return ret;
}

/* ---- one message, every field ------------------------------------- */

static const struct diag field_rows[] = {
	/* 0: the contract's example socket */
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", "127.0.0.1", 8080, 51234, 48213,
	  1000, 3, 7, INFO_FULL, 1500, 2500, 0 },
	{ AF_INET, ST_ESTABLISHED, "10.1.2.3", "192.168.200.1", 40000, 443, 1,
	  0, 0, 0, INFO_FULL, 0, 0, 0 },
	{ AF_INET6, ST_ESTABLISHED, "::1", "::1", 9090, 43402, 23703, 0, 100, 0,
	  INFO_FULL, 1200, 1300, 0 },
	{ AF_INET6, ST_ESTABLISHED, "2001:db8::1", "2001:db8::1234:5678:dead:0",
	  443, 54321, 99, 1001, 0, 5, INFO_FULL, 4000000000u, 3999999999u, 0 },
	/* IPv4-mapped: stays inet6 with the mapped bytes. */
	{ AF_INET6, ST_ESTABLISHED, "::ffff:127.0.0.1", "::ffff:127.0.0.1", 9090,
	  40538, 23705, 0, 0, 0, INFO_FULL, 10, 20, 0 },
	/* Listeners: in the listener set; rqueue is the accept queue. */
	{ AF_INET, ST_LISTEN, "0.0.0.0", "0.0.0.0", 22, 0, 1529, 0, 2, 128, 0, 0,
	  0, 0 },
	{ AF_INET6, ST_LISTEN, "::", "::", 65535, 0, 23701, 0, 0, 8, INFO_FULL,
	  0, 0, 0 },
	{ AF_INET, ST_CLOSE_WAIT, "127.0.0.1", "127.0.0.1", 8080, 60874, 23698, 0,
	  1, 0, INFO_FULL, 61000, 61000, 0 },
	/* TIME-WAIT: no inode, no tcp_info. */
	{ AF_INET, ST_TIME_WAIT, "127.0.0.1", "127.0.0.1", 60880, 8080, 0, 0, 0,
	  0, 0, 0, 0, 0 },
	{ AF_INET, ST_SYN_SENT, "127.0.0.1", "10.9.9.9", 33333, 1, 5, 0, 0, 1,
	  INFO_FULL, 0, 0, 0 },
	/* tcp_info sizes: older kernels send less, newer more. */
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", "127.0.0.1", 1, 2, 3, 0, 0, 0,
	  INFO_BEFORE_RECV, 70000, 80000, 0 },
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", "127.0.0.1", 1, 2, 3, 0, 0, 0,
	  INFO_TO_RECV, 70000, 80000, 0 },
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", "127.0.0.1", 1, 2, 3, 0, 0, 0,
	  INFO_LINUX26, 70000, 80000, 0 },
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", "127.0.0.1", 1, 2, 3, 0, 0, 0,
	  INFO_NEWER, 70000, 80000, 0 },
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", "127.0.0.1", 1, 2, 3, 0, 0, 0, 8,
	  70000, 80000, 0 },
	/* Other attributes around INET_DIAG_INFO. */
	{ AF_INET6, ST_ESTABLISHED, "::1", "::1", 5000, 6000, 77, 65534, 11, 12,
	  INFO_FULL, 123, 456, 1 },
	{ AF_INET6, ST_ESTABLISHED, "::1", "::1", 5000, 6000, 77, 65534, 11, 12,
	  0, 0, 0, 1 },
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

START_TEST(test_decode_fields)
{
	const struct diag *d = &field_rows[_i];
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	const struct sock_rec *r;
	int intr = 0, times;

	put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, d);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), 1);
	ck_assert_int_eq(intr, 0);
	ck_assert_uint_eq(t.nsocks, 1);
	r = &t.socks[0];
	ck_assert_int_eq(r->family, d->family);
	ck_assert_int_eq(r->state, d->state);
	ck_assert_uint_eq(r->lport, d->sport);
	ck_assert_uint_eq(r->rport, d->dport);
	check_addr(d->family, r->laddr, d->src, "laddr", _i);
	check_addr(d->family, r->raddr, d->dst, "raddr", _i);
	ck_assert_uint_eq(r->inode, d->inode);
	ck_assert_uint_eq(r->uid, d->uid);
	ck_assert_uint_eq(r->recv_q, d->rq);
	ck_assert_uint_eq(r->send_q, d->wq);
	ck_assert_uint_eq(r->origin, ORIGIN_KERNEL);
	ck_assert_uint_eq(r->has_local, 1);
	ck_assert_uint_eq(r->owners, NO_INDEX);
	/* The times come from tcp_info when it reaches tcpi_last_data_recv. */
	times = d->info_len >= INFO_TO_RECV;
	ck_assert_msg(r->has_times == times, "row %d: has_times %d, want %d", _i,
		      r->has_times, times);
	if (times) {
		ck_assert_uint_eq(r->last_recv_ms, d->last_recv);
		ck_assert_uint_eq(r->last_send_ms, d->last_send);
	}
	ck_assert_int_eq(table_has_listener(&t, 0, d->sport), d->state == ST_LISTEN);
	table_free(&t);
}
END_TEST

/* ---- several messages ---------------------------------------------- */

static const struct diag three[] = {
	{ AF_INET, ST_LISTEN, "0.0.0.0", "0.0.0.0", 8080, 0, 100, 0, 0, 16, 0, 0,
	  0, 0 },
	{ AF_INET, ST_ESTABLISHED, "127.0.0.1", "127.0.0.1", 8080, 50000, 101, 0,
	  0, 0, INFO_FULL, 1, 2, 0 },
	{ AF_INET, ST_CLOSE_WAIT, "127.0.0.1", "127.0.0.1", 8080, 50002, 102, 0,
	  1, 0, INFO_FULL, 3, 4, 1 },
};

/* A multi-part dump in one buffer, ending with NLMSG_DONE. */
START_TEST(test_decode_multi_done)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0, i;

	for (i = 0; i < 3; i++)
		put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &three[i]);
	put_done(&nb, 0, SEQ, 0);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), 0);
	ck_assert_int_eq(intr, 0);
	ck_assert_uint_eq(t.nsocks, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(t.socks[i].inode, three[i].inode);
		ck_assert_int_eq(t.socks[i].state, three[i].state);
	}
	ck_assert_uint_eq(t.socks[2].last_recv_ms, 3);
	ck_assert_uint_eq(t.socks[2].last_send_ms, 4);
	ck_assert(table_has_listener(&t, 0, 8080));
	ck_assert(!table_has_listener(&t, 0, 50000));
	table_free(&t);
}
END_TEST

/* The same dump over two reads: 1 (more to come), then 0. */
START_TEST(test_decode_two_reads)
{
	struct nlbuf a = { .len = 0 }, b = { .len = 0 };
	struct sock_table t;
	int intr = 0;

	put_diag(&a, NLM_F_MULTI, SEQ, PORTID, &three[0]);
	put_diag(&a, NLM_F_MULTI, SEQ, PORTID, &three[1]);
	put_diag(&b, NLM_F_MULTI, SEQ, PORTID, &three[2]);
	put_done(&b, 0, SEQ, 0);
	table_init(&t);
	ck_assert_int_eq(decode(a.b, a.len, SEQ, PORTID, &t, &intr), 1);
	ck_assert_uint_eq(t.nsocks, 2);
	ck_assert_int_eq(decode(b.b, b.len, SEQ, PORTID, &t, &intr), 0);
	ck_assert_uint_eq(t.nsocks, 3);
	ck_assert_uint_eq(t.socks[2].inode, 102);
	table_free(&t);
}
END_TEST

START_TEST(test_decode_done_only)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0;

	put_done(&nb, 0, SEQ, 0);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), 0);
	ck_assert_uint_eq(t.nsocks, 0);
	table_free(&t);
}
END_TEST

/* A dump that failed in the kernel ends with NLMSG_DONE carrying the
 * negative errno (net/netlink/af_netlink.c, netlink_dump_done); iproute2
 * reports it as an error.  Taking it for a complete dump would hide
 * sockets. */
START_TEST(test_decode_done_with_error)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0, ret;

	put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &three[1]);
	put_done(&nb, 0, SEQ, -ENOBUFS);
	table_init(&t);
	ret = decode(nb.b, nb.len, SEQ, PORTID, &t, &intr);
	table_free(&t);
	ck_assert_msg(ret == -ENOBUFS,
		      "NLMSG_DONE carrying -ENOBUFS: returned %d, want %d", ret,
		      -ENOBUFS);
}
END_TEST

/* ---- errors -------------------------------------------------------- */

START_TEST(test_decode_error_eperm)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0;

	put_error(&nb, SEQ, -EPERM);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), -EPERM);
	ck_assert_uint_eq(t.nsocks, 0);
	table_free(&t);
}
END_TEST

/* An error after some records: the error wins. */
START_TEST(test_decode_error_after_records)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0;

	put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &three[0]);
	put_error(&nb, SEQ, -ENOMEM);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), -ENOMEM);
	table_free(&t);
}
END_TEST

/* error 0 is an acknowledgement, not an error. */
START_TEST(test_decode_ack_then_done)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0;

	put_error(&nb, SEQ, 0);
	put_done(&nb, 0, SEQ, 0);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), 0);
	table_free(&t);
}
END_TEST

START_TEST(test_decode_error_truncated)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int err = -EPERM, intr = 0;

	/* Only the errno, without the echoed header. */
	put_msg(&nb, NLMSG_ERROR, 0, SEQ, PORTID, &err, sizeof(err));
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), -EBADMSG);
	table_free(&t);
}
END_TEST

/* NLM_F_DUMP_INTR: records are kept, the caller is told. */
START_TEST(test_decode_dump_intr)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0;

	put_diag(&nb, NLM_F_MULTI | NLM_F_DUMP_INTR, SEQ, PORTID, &three[1]);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), 1);
	ck_assert_int_eq(intr, 1);
	ck_assert_uint_eq(t.nsocks, 1);
	table_free(&t);

	/* On the last message only. */
	nb.len = 0;
	put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &three[0]);
	put_done(&nb, NLM_F_DUMP_INTR, SEQ, 0);
	intr = 0;
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, SEQ, PORTID, &t, &intr), 0);
	ck_assert_int_eq(intr, 1);
	ck_assert_uint_eq(t.nsocks, 1);
	table_free(&t);
}
END_TEST

/* Malformed buffers, each built by `make` from a good message. */
enum bad_kind {
	BAD_PAYLOAD_SHORT,   /* inet_diag_msg cut by one byte */
	BAD_PAYLOAD_EMPTY,   /* a diag message with no payload */
	BAD_LEN_PAST_BUFFER, /* nlmsg_len larger than what was read */
	BAD_TRAILING_BYTES,  /* half a header after the last message */
	BAD_LEN_TOO_SMALL,   /* nlmsg_len smaller than a header */
	BAD_FAMILY,          /* AF_UNIX in an inet_diag message */
	BAD_SEQ,             /* another dump's sequence number */
	BAD_PORTID,          /* another socket's port id */
};

struct bad_row {
	enum bad_kind kind;
	int want;
	size_t nsocks; /* whole good messages decoded before the bad bytes */
};

static const struct bad_row bad_rows[] = {
	{ BAD_PAYLOAD_SHORT, -EBADMSG, 0 },
	{ BAD_PAYLOAD_EMPTY, -EBADMSG, 0 },
	{ BAD_LEN_PAST_BUFFER, -EBADMSG, 0 },
	{ BAD_TRAILING_BYTES, -EBADMSG, 1 },
	{ BAD_LEN_TOO_SMALL, -EBADMSG, 0 },
	{ BAD_FAMILY, -EBADMSG, 0 },
	{ BAD_SEQ, -EPROTO, 0 },
	{ BAD_PORTID, -ESRCH, 0 },
};

START_TEST(test_decode_bad_rows)
{
	const struct bad_row *row = &bad_rows[_i];
	struct nlbuf nb = { .len = 0 };
	struct inet_diag_msg m;
	struct nlmsghdr *h;
	struct sock_table t;
	struct diag d = three[1];
	int intr = 0, ret;
	size_t len;

	switch (row->kind) {
	case BAD_PAYLOAD_SHORT:
		fill_diag_msg(&m, &d);
		put_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PORTID, &m,
			sizeof(m) - 1);
		break;
	case BAD_PAYLOAD_EMPTY:
		put_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PORTID, NULL, 0);
		break;
	case BAD_LEN_PAST_BUFFER:
		h = put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &d);
		h->nlmsg_len += 64;
		break;
	case BAD_TRAILING_BYTES:
		put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &d);
		memset(nb.b + nb.len, 0, 8);
		nb.len += 8;
		break;
	case BAD_LEN_TOO_SMALL:
		h = put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &d);
		h->nlmsg_len = 8;
		break;
	case BAD_FAMILY:
		d.family = AF_INET;
		h = put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &d);
		((struct inet_diag_msg *)NLMSG_DATA(h))->idiag_family = AF_UNIX;
		break;
	case BAD_SEQ:
		put_diag(&nb, NLM_F_MULTI, SEQ + 1, PORTID, &d);
		break;
	case BAD_PORTID:
		put_diag(&nb, NLM_F_MULTI, SEQ, PORTID + 1, &d);
		break;
	}
	len = nb.len;
	table_init(&t);
	ret = decode(nb.b, len, SEQ, PORTID, &t, &intr);
	ck_assert_msg(ret == row->want, "row %d: returned %d, want %d", _i, ret,
		      row->want);
	ck_assert_uint_eq(t.nsocks, row->nsocks);
	table_free(&t);
}
END_TEST

/* seq and portid 0: not checked. */
START_TEST(test_decode_unchecked_ids)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	int intr = 0;

	put_diag(&nb, NLM_F_MULTI, SEQ + 5, PORTID + 5, &three[1]);
	put_done(&nb, 0, SEQ + 5, 0);
	table_init(&t);
	ck_assert_int_eq(decode(nb.b, nb.len, 0, 0, &t, &intr), 0);
	ck_assert_uint_eq(t.nsocks, 1);
	table_free(&t);
}
END_TEST

/*
 * An attribute whose length runs past its message.  Either the message
 * is rejected or the attribute is ignored; in no case may its bytes be
 * read as tcp_info (the sanitizers watch the reads).
 */
START_TEST(test_decode_attr_past_message)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	struct diag d = three[1];
	struct nlmsghdr *h;
	struct nlattr *a;
	int intr = 0, ret;

	d.info_len = INFO_FULL;
	h = put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &d);
	/* Cut the message (and the buffer) in the middle of the tcp_info. */
	a = (struct nlattr *)((unsigned char *)NLMSG_DATA(h) +
			      NLMSG_ALIGN(sizeof(struct inet_diag_msg)));
	ck_assert_int_eq(a->nla_type, INET_DIAG_INFO);
	h->nlmsg_len = (uint32_t)((unsigned char *)a - (unsigned char *)h) + 4 +
		       (uint32_t)INFO_BEFORE_RECV + 8;
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len);
	nb.len = h->nlmsg_len;
	table_init(&t);
	ret = decode(nb.b, nb.len, SEQ, PORTID, &t, &intr);
	ck_assert_msg(ret == -EBADMSG || ret == 1, "returned %d", ret);
	if (ret == 1) {
		ck_assert_uint_eq(t.nsocks, 1);
		ck_assert_uint_eq(t.socks[0].has_times, 0);
	}
	table_free(&t);
}
END_TEST

/* An attribute of length 0 must not stall the walk. */
START_TEST(test_decode_attr_zero_length)
{
	struct nlbuf nb = { .len = 0 };
	struct sock_table t;
	struct diag d = three[1];
	struct nlmsghdr *h;
	struct nlattr *a;
	int intr = 0, ret;

	d.info_len = 0;
	h = put_diag(&nb, NLM_F_MULTI, SEQ, PORTID, &d);
	a = (struct nlattr *)(nb.b + nb.len);
	memset(a, 0, 8);
	nb.len += 8;
	h->nlmsg_len += 8;
	table_init(&t);
	ret = decode(nb.b, nb.len, SEQ, PORTID, &t, &intr);
	ck_assert_msg(ret == -EBADMSG || ret == 1, "returned %d", ret);
	if (ret == 1)
		ck_assert_uint_eq(t.socks[0].has_times, 0);
	table_free(&t);
}
END_TEST

/* ---- recorded dumps ------------------------------------------------ */

static char data_dir[PATH_MAX];

static unsigned char *slurp(const char *name, size_t *len)
{
	char path[PATH_MAX + 64];
	unsigned char *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Recorded in a fresh network namespace with portid 4430, seq 1000 for
 * AF_INET and 1001 for AF_INET6, asking for INET_DIAG_INFO; the kernel
 * (6.18) sent tcp_info of 284 bytes and attributes our headers may not
 * know. */
#define REC_PORTID 4430

static void decode_recorded(struct sock_table *t)
{
	unsigned char *b;
	size_t len;
	int intr = 0;

	b = slurp("netlink/dump_inet.bin", &len);
	ck_assert_int_eq(netlink_decode(b, len, 1000, REC_PORTID, t, &intr), 0);
	free(b);
	ck_assert_uint_eq(t->nsocks, 7);
	b = slurp("netlink/dump_inet6.bin", &len);
	ck_assert_int_eq(netlink_decode(b, len, 1001, REC_PORTID, t, &intr), 0);
	free(b);
	ck_assert_uint_eq(t->nsocks, 11);
	ck_assert_int_eq(intr, 0);
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

START_TEST(test_recorded_dump)
{
	struct sock_table t;
	const struct sock_rec *s;
	size_t i, ntimes = 0;

	table_init(&t);
	decode_recorded(&t);

	/* LISTEN 127.0.0.1:8080: rqueue the accept queue, wqueue the backlog. */
	s = find_inode(&t, 23694);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->state, ST_LISTEN);
	ck_assert_uint_eq(s->lport, 8080);
	ck_assert_uint_eq(s->recv_q, 0);
	ck_assert_uint_eq(s->send_q, 16);
	check_addr(AF_INET, s->laddr, "127.0.0.1", "laddr", 0);
	check_addr(AF_INET, s->raddr, "0.0.0.0", "raddr", 0);

	/* The server end with 5 unread bytes, idle 1.252 s. */
	s = find_inode(&t, 23696);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->state, ST_ESTABLISHED);
	ck_assert_uint_eq(s->rport, 60872);
	ck_assert_uint_eq(s->recv_q, 5);
	ck_assert_uint_eq(s->has_times, 1);
	ck_assert_uint_eq(s->last_recv_ms, 1252);
	ck_assert_uint_eq(s->last_send_ms, 1252);

	s = find_inode(&t, 23698);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->state, ST_CLOSE_WAIT);
	ck_assert_uint_eq(s->recv_q, 1);

	s = find_inode(&t, 23705);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->family, AF_INET6);
	check_addr(AF_INET6, s->laddr, "::ffff:127.0.0.1", "laddr", 0);
	ck_assert_uint_eq(s->last_recv_ms, 1200);

	s = find_inode(&t, 23703);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->recv_q, 100);

	for (i = 0; i < t.nsocks; i++) {
		s = &t.socks[i];
		/* Timewait sockets (FIN-WAIT-2, TIME-WAIT) have no tcp_info. */
		if (s->state == ST_TIME_WAIT || s->state == ST_FIN_WAIT2) {
			ck_assert_uint_eq(s->inode, 0);
			ck_assert_uint_eq(s->has_times, 0);
		}
		ntimes += s->has_times && s->state == ST_ESTABLISHED;
	}
	ck_assert_uint_eq(ntimes, 6);
	ck_assert(table_has_listener(&t, 0, 8080));
	ck_assert(table_has_listener(&t, 0, 9090));
	ck_assert(!table_has_listener(&t, 0, 60872));
	table_free(&t);
}
END_TEST

/* A recorded buffer checked against another dump's sequence number. */
START_TEST(test_recorded_wrong_seq)
{
	struct sock_table t;
	unsigned char *b;
	size_t len;
	int intr = 0;

	b = slurp("netlink/dump_inet.bin", &len);
	table_init(&t);
	ck_assert_int_eq(netlink_decode(b, len, 999, REC_PORTID, &t, &intr), -EPROTO);
	ck_assert_int_eq(netlink_decode(b, len, 1000, REC_PORTID + 1, &t, &intr),
			 -ESRCH);
	free(b);
	table_free(&t);
}
END_TEST

/* Every prefix of a recorded buffer that is not whole messages is
 * malformed; the whole messages before it decode. */
START_TEST(test_recorded_every_cut)
{
	unsigned char *b;
	size_t len, cut;

	b = slurp("netlink/dump_inet.bin", &len);
	for (cut = 1; cut < len; cut++) {
		struct sock_table t;
		size_t off = 0;
		int intr = 0, ret, whole = 0;

		/* Is `cut` on a message boundary? */
		while (off < cut) {
			const struct nlmsghdr *h = (const void *)(b + off);

			off += NLMSG_ALIGN(h->nlmsg_len);
			if (off == cut)
				whole = 1;
		}
		table_init(&t);
		ret = decode(b, cut, 1000, REC_PORTID, &t, &intr);
		if (whole)
			ck_assert_msg(ret == 1, "cut at %zu (boundary): %d", cut, ret);
		else
			ck_assert_msg(ret == -EBADMSG, "cut at %zu: %d", cut, ret);
		table_free(&t);
	}
	free(b);
}
END_TEST

/* The /proc files recorded at the same moment name the same sockets. */
START_TEST(test_recorded_matches_procnet)
{
	struct sock_table nl, pn;
	struct procnet_stats st;
	char root[PATH_MAX + 8];
	size_t i, j;

	table_init(&nl);
	table_init(&pn);
	decode_recorded(&nl);
	snprintf(root, sizeof(root), "%s/proc", data_dir);
	ck_assert_int_eq(procnet_read(root, &pn, FAMILY_BOTH, STATES_ALL, &st), 0);
	ck_assert_uint_eq(pn.nsocks, nl.nsocks);
	for (i = 0; i < nl.nsocks; i++) {
		const struct sock_rec *a = &nl.socks[i];
		int found = 0;

		for (j = 0; j < pn.nsocks && !found; j++) {
			const struct sock_rec *p = &pn.socks[j];

			found = p->family == a->family && p->lport == a->lport &&
				p->rport == a->rport && p->state == a->state &&
				p->inode == a->inode &&
				!memcmp(p->laddr, a->laddr, 16) &&
				!memcmp(p->raddr, a->raddr, 16);
			/* The queues agree but for listeners (wqueue is
			 * the backlog over netlink, 0 in /proc). */
			if (found && a->state != ST_LISTEN) {
				ck_assert_uint_eq(p->recv_q, a->recv_q);
				ck_assert_uint_eq(p->send_q, a->send_q);
			}
		}
		ck_assert_msg(found, "netlink socket %zu (inode %u, port %u) not in /proc",
			      i, a->inode, a->lport);
	}
	for (i = 1; i < 65536; i++)
		ck_assert_int_eq(table_has_listener(&nl, 0, (uint16_t)i),
				 table_has_listener(&pn, 0, (uint16_t)i));
	table_free(&nl);
	table_free(&pn);
}
END_TEST

/* Found by fuzz_netlink: a header whose nlmsg_len is 2^31 or more
 * passed libmnl's (int) length check and the decoder read ~4 GiB past
 * the buffer.  It is malformed: -EBADMSG, nothing decoded. */
START_TEST(test_nlmsg_len_2g)
{
	struct sock_table t;
	unsigned char *b;
	size_t len;
	int intr = 0;

	b = slurp("netlink/nlmsg-len-2g.bin", &len);
	table_init(&t);
	ck_assert_int_eq(netlink_decode(b, len, 0, 0, &t, &intr), -EBADMSG);
	ck_assert_uint_eq(t.nsocks, 0);
	table_free(&t);
	free(b);
}
END_TEST

/* Found by fuzz_netlink (10-minute run): a last message whose length is
 * not a multiple of 4, in a buffer that ends before the padding; libmnl's
 * attribute walk reads up to the padded end, past the buffer. */
START_TEST(test_unaligned_tail)
{
	struct sock_table t;
	unsigned char *b;
	size_t len;
	int intr = 0;

	b = slurp("netlink/unaligned-tail.bin", &len);
	table_init(&t);
	ck_assert_int_eq(netlink_decode(b, len, 0, 0, &t, &intr), -EBADMSG);
	ck_assert_uint_eq(t.nsocks, 0);
	table_free(&t);
	free(b);
}
END_TEST

static Suite *netlink_suite(void)
{
	Suite *s = suite_create("netlink");
	TCase *tc = tcase_create("decode");

	tcase_add_loop_test(tc, test_decode_fields, 0, NROWS(field_rows));
	tcase_add_test(tc, test_decode_multi_done);
	tcase_add_test(tc, test_decode_two_reads);
	tcase_add_test(tc, test_decode_done_only);
	tcase_add_test(tc, test_decode_done_with_error);
	tcase_add_test(tc, test_decode_error_eperm);
	tcase_add_test(tc, test_decode_error_after_records);
	tcase_add_test(tc, test_decode_ack_then_done);
	tcase_add_test(tc, test_decode_error_truncated);
	tcase_add_test(tc, test_decode_dump_intr);
	tcase_add_loop_test(tc, test_decode_bad_rows, 0, NROWS(bad_rows));
	tcase_add_test(tc, test_decode_unchecked_ids);
	tcase_add_test(tc, test_decode_attr_past_message);
	tcase_add_test(tc, test_decode_attr_zero_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("recorded");
	tcase_add_test(tc, test_recorded_dump);
	tcase_add_test(tc, test_recorded_wrong_seq);
	tcase_add_test(tc, test_recorded_every_cut);
	tcase_add_test(tc, test_recorded_matches_procnet);
	tcase_add_test(tc, test_nlmsg_len_2g);
	tcase_add_test(tc, test_unaligned_tail);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	snprintf(data_dir, sizeof(data_dir), "%s", test_data_dir());
	return run_suite(netlink_suite());
}
