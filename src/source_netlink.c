/*
 * Source: sock_diag over netlink (libmnl).  One SOCK_DIAG_BY_FAMILY dump
 * per address family and protocol, with the selected states filtered by
 * the kernel, tcp_info requested for idle times (TCP), sk_meminfo for
 * drops (UDP); UNIX messages are decoded by source_unix.c.
 */
#include "source_netlink.h"
#include "source_unix.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>

/* The kernel sends at most 32 KiB per dump message; twice that leaves
 * room for anything a future kernel adds. */
#define DUMP_BUF_SIZE 65536
/* Retries of a dump that the kernel marked NLM_F_DUMP_INTR. */
#define DUMP_RETRIES 3

/* Attribute callback: validate and file each attribute in tb[]. */
static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, INET_DIAG_MAX) < 0)
		return MNL_CB_OK; /* newer than our headers: ignore */
	tb[type] = attr;
	return MNL_CB_OK;
}

/* The drop counter of an INET_DIAG_SKMEMINFO attribute (an array of
 * u32 indexed by SK_MEMINFO_*; older kernels send fewer). */
static uint32_t meminfo_drops(const struct nlattr *a)
{
	uint32_t v[SK_MEMINFO_VARS];
	size_t len = mnl_attr_get_payload_len(a);

	if (len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return 0;
	memset(v, 0, sizeof(v));
	memcpy(v, mnl_attr_get_payload(a), len < sizeof(v) ? len : sizeof(v));
	return v[SK_MEMINFO_DROPS];
}

/* One inet_diag message of a TCP or UDP dump into a socket record.
 * Returns 0 or -errno. */
static int decode_diag(const struct nlmsghdr *nlh, unsigned protocol,
		       struct sock_table *t)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1] = { NULL };
	const struct inet_diag_msg *m;
	struct sock_rec *r;
	size_t alen;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return -EBADMSG;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EBADMSG;
	/* A state we do not know (a newer kernel's): not a TCP state the
	 * user can select, skip it. */
	if (m->idiag_state < ST_ESTABLISHED || m->idiag_state > ST_NEW_SYN_RECV)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*m), attr_cb, tb) < 0)
		return -EBADMSG;

	r = table_add_sock(t);
	if (!r)
		return -ENOMEM;
	r->family = m->idiag_family;
	r->state = m->idiag_state == ST_NEW_SYN_RECV ? ST_SYN_RECV : m->idiag_state;
	alen = r->family == AF_INET ? 4 : 16;
	memcpy(r->laddr, m->id.idiag_src, alen);
	memcpy(r->raddr, m->id.idiag_dst, alen);
	r->lport = ntohs(m->id.idiag_sport);
	r->rport = ntohs(m->id.idiag_dport);
	r->inode = m->idiag_inode;
	r->uid = m->idiag_uid;
	r->recv_q = m->idiag_rqueue;
	r->send_q = m->idiag_wqueue;
	if (protocol == PROTO_UDP) {
		/* UDP has no listeners and no tcp_info. */
		r->protocol = PROTO_UDP;
		if (tb[INET_DIAG_SKMEMINFO])
			r->drops = meminfo_drops(tb[INET_DIAG_SKMEMINFO]);
		return 0;
	}
	if (r->state == ST_LISTEN && table_mark_listener(t, r->lport) < 0)
		return -ENOMEM;

	if (tb[INET_DIAG_INFO]) {
		/* Older kernels send a shorter tcp_info: copy what came and
		 * use the times only when they are inside it. */
		struct tcp_info ti;
		size_t len = mnl_attr_get_payload_len(tb[INET_DIAG_INFO]);
		size_t need = offsetof(struct tcp_info, tcpi_last_data_recv) +
			      sizeof(ti.tcpi_last_data_recv);

		memset(&ti, 0, sizeof(ti));
		memcpy(&ti, mnl_attr_get_payload(tb[INET_DIAG_INFO]),
		       len < sizeof(ti) ? len : sizeof(ti));
		if (len >= need) {
			r->has_times = 1;
			r->last_recv_ms = ti.tcpi_last_data_recv;
			r->last_send_ms = ti.tcpi_last_data_sent;
		}
	}
	return 0;
}

/*
 * Whether a whole message starts at nlh within len bytes, padding
 * included.  Not mnl_nlmsg_ok, which fuzz_netlink found wanting twice:
 * libmnl 1.0.4 compares (int)nlmsg_len <= len, so a length of 2^31 or
 * more is negative there and passes; and it does not count the padding
 * to a 4-byte boundary that its attribute walk reads up to.
 */
static int nlmsg_fits(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (uint32_t)len &&
	       MNL_ALIGN(nlh->nlmsg_len) <= (uint32_t)len;
}

int netlink_decode(const void *buf, size_t len, uint32_t seq, uint32_t portid,
		   struct sock_table *t, int *interrupted)
{
	return netlink_decode_proto(buf, len, seq, portid, PROTO_TCP, t,
				    interrupted);
}

int netlink_decode_proto(const void *buf, size_t len, uint32_t seq,
			 uint32_t portid, unsigned protocol,
			 struct sock_table *t, int *interrupted)
{
	const struct nlmsghdr *nlh = buf;
	int numbytes = len > INT32_MAX ? INT32_MAX : (int)len;

	for (; nlmsg_fits(nlh, numbytes); nlh = mnl_nlmsg_next(nlh, &numbytes)) {
		int rc;

		if (!mnl_nlmsg_portid_ok(nlh, portid))
			return -ESRCH;
		if (!mnl_nlmsg_seq_ok(nlh, seq))
			return -EPROTO;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			*interrupted = 1;
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE: {
			/* A dump that failed in the kernel ends with the
			 * negative errno as the payload of NLMSG_DONE. */
			const int *err = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*err) && *err < 0)
				return *err;
			return 0;
		}
		case NLMSG_ERROR: {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			if (e->error < 0)
				return e->error;
			continue; /* an acknowledgement */
		}
		case NLMSG_NOOP:
			continue;
		case SOCK_DIAG_BY_FAMILY:
			rc = protocol == PROTO_UNIX ?
				     unix_diag_decode(mnl_nlmsg_get_payload(nlh),
						      mnl_nlmsg_get_payload_len(nlh), t) :
				     decode_diag(nlh, protocol, t);
			if (rc < 0)
				return rc;
			continue;
		default:
			return -EBADMSG;
		}
	}
	/* Bytes left that do not make a whole message: truncated. */
	if (numbytes != 0)
		return -EBADMSG;
	return 1;
}

/* Ports in a set. */
static size_t port_count(const uint8_t *bits)
{
	size_t n = 0, p;

	for (p = 1; p < 65536; p++)
		n += (bits[p >> 3] >> (p & 7)) & 1;
	return n;
}

/* Bytes of one port test in the filter: S_EQ/D_EQ, its port, a JMP. */
#define BC_TEST_LEN (3 * sizeof(struct inet_diag_bc_op))
/* Jumps are 16-bit: past this many ports the kernel filter is not used
 * and the audit alone selects. */
#define BC_MAX_PORTS 2048

/*
 * The filter program for the request's local ports: "the port is one of
 * the set", in a malloc'd buffer.  Test i is [S_EQ, port] then [JMP]: a
 * match falls through to the JMP, which jumps to the end of the program
 * (accept); a miss jumps to the next test, and the last miss jumps past
 * the end, which the kernel reads as "reject".  Returns the program's
 * length (0: no filter), or -ENOMEM.
 */
static ssize_t bc_build(const struct dump_request *req,
			struct inet_diag_bc_op **out)
{
	size_t n = req->ports ? port_count(req->ports) : 0, i = 0, p;
	struct inet_diag_bc_op *op;

	*out = NULL;
	if (n == 0 || n > BC_MAX_PORTS)
		return 0;
	op = *out = malloc(n * BC_TEST_LEN);
	if (!op)
		return -ENOMEM;
	for (p = 1; p < 65536; p++) {
		size_t to_end = (n - i) * BC_TEST_LEN; /* from this test */

		if (!((req->ports[p >> 3] >> (p & 7)) & 1))
			continue;
		op[0].code = INET_DIAG_BC_S_EQ;
		op[0].yes = 2 * sizeof(*op);
		op[0].no = (uint16_t)(i + 1 < n ? BC_TEST_LEN : to_end + 4);
		op[1].code = INET_DIAG_BC_NOP;
		op[1].yes = 0;
		op[1].no = (uint16_t)p;
		op[2].code = INET_DIAG_BC_JMP;
		op[2].yes = sizeof(*op);
		op[2].no = (uint16_t)(to_end - 2 * sizeof(*op));
		op += 3;
		i++;
	}
	return (ssize_t)(n * BC_TEST_LEN);
}

/* Send the dump request of every UNIX socket in the selected states,
 * with its name, peer, queues, VFS inode, shutdown state and owner. */
static int send_unix_request(struct mnl_socket *nl,
			     const struct dump_request *req, uint32_t seq)
{
	char buf[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct unix_diag_req *r;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = AF_UNIX;
	r->udiag_states = req->states;
	r->udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN |
			UDIAG_SHOW_VFS | UDIAG_SHOW_UID;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

/* Send one dump request for a family on an open socket. */
static int send_request(struct mnl_socket *nl, int family,
			const struct dump_request *req, uint32_t seq)
{
	struct inet_diag_bc_op *bc;
	ssize_t bclen;
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *r;
	char *buf;
	int rc = 0;

	if (family == AF_UNIX)
		return send_unix_request(nl, req, seq);
	bclen = bc_build(req, &bc);
	if (bclen < 0)
		return (int)bclen;
	/* Header, request, attribute header and program, each aligned. */
	buf = calloc(1, 256 + (size_t)bclen);
	if (!buf) {
		free(bc);
		return -ENOMEM;
	}
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = (uint8_t)family;
	r->sdiag_protocol = req->protocol == PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	r->idiag_states = req->states;
	if (req->want_info)
		r->idiag_ext = req->protocol == PROTO_UDP ?
				       1u << (INET_DIAG_SKMEMINFO - 1) :
				       1u << (INET_DIAG_INFO - 1);
	if (bclen > 0)
		mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, (size_t)bclen, bc);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		rc = -errno;
	free(bc);
	free(buf);
	return rc;
}

/*
 * One complete dump of one family into the table.  Returns 0, or -EINTR
 * when the dump raced with the kernel: marked interrupted, or a socket
 * listed twice (see table_drop_repeats; the repeats are dropped, the
 * other records are in the table all the same), or another -errno.
 */
static int dump_family(struct mnl_socket *nl, int family,
		       const struct dump_request *req, struct sock_table *t,
		       char *buf, uint32_t seq)
{
	uint32_t portid = mnl_socket_get_portid(nl);
	size_t mark = t->nsocks;
	int interrupted = 0;
	ssize_t repeats;
	int rc = send_request(nl, family, req, seq);

	if (rc < 0)
		return rc;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, DUMP_BUF_SIZE);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		rc = netlink_decode_proto(buf, (size_t)n, seq, portid,
					  req->protocol, t, &interrupted);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
	}
	repeats = table_drop_repeats(t, mark);
	if (repeats < 0)
		return (int)repeats;
	return interrupted || repeats ? -EINTR : 0;
}

/* Open a sock_diag socket with a receive buffer sized for dumps. */
static struct mnl_socket *open_diag(int *err)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	int size = 1 << 20;

	if (!nl) {
		*err = -errno;
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		*err = -errno;
		mnl_socket_close(nl);
		return NULL;
	}
	/* Root may exceed rmem_max; others get what the system allows. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &size, sizeof(size)) < 0)
		(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF,
				 &size, sizeof(size));
	return nl;
}

int netlink_dump(struct sock_table *t, const struct dump_request *req,
		 struct netlink_stats *st)
{
	static const struct fam_dump {
		unsigned bit; /* FAMILY_*, 0: always */
		int family;
	} fams[] = { { FAMILY_INET, AF_INET }, { FAMILY_INET6, AF_INET6 } },
	  unix_fam[] = { { 0, AF_UNIX } };
	const struct fam_dump *list = fams;
	size_t nlist = sizeof(fams) / sizeof(fams[0]);
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	char *buf;
	size_t i;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	nl = open_diag(&rc);
	if (!nl)
		return rc;
	buf = malloc(DUMP_BUF_SIZE);
	if (!buf) {
		mnl_socket_close(nl);
		return -ENOMEM;
	}
	if (req->protocol == PROTO_UNIX) {
		list = unix_fam;
		nlist = 1;
	}
	for (i = 0; i < nlist && rc == 0; i++) {
		struct table_mark mark = table_mark(t);
		int attempt;

		if (list[i].bit && !(req->families & list[i].bit))
			continue;
		for (attempt = 0;; attempt++) {
			rc = dump_family(nl, list[i].family, req, t, buf, ++seq);
			if (rc != -EINTR)
				break;
			if (attempt == DUMP_RETRIES) {
				/* Keep the last dump and say it may be off. */
				st->inconsistent = 1;
				rc = 0;
				break;
			}
			table_rollback(t, &mark);
		}
	}
	free(buf);
	mnl_socket_close(nl);
	return rc;
}
