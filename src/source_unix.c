/*
 * Source: UNIX domain sockets.  The sock_diag message decoder (the dump
 * itself is source_netlink.c's) and the /proc/net/unix reader, the
 * fallback, which has no peers, queues, shutdown state or uid.
 */
#include "source_unix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/unix_diag.h>

#include "procfile.h"

/* /proc/net/unix Flags: a listening socket (__SO_ACCEPTCON). */
#define PROC_UNIX_ACCEPTCON 0x10000u
/* /proc/net/unix St: SS_CONNECTED. */
#define PROC_UNIX_CONNECTED 3u

/* Our state for a kernel one: listen and established stay, anything
 * else (TCP_CLOSE, a connect in progress) is "unconnected". */
static uint8_t unix_state(unsigned kstate)
{
	if (kstate == ST_LISTEN || kstate == ST_ESTABLISHED)
		return (uint8_t)kstate;
	return ST_CLOSE;
}

/* Whether a socket type is one sockaudit reports. */
static int known_type(unsigned type)
{
	return type == SOCK_STREAM || type == SOCK_DGRAM || type == SOCK_SEQPACKET;
}

/*
 * Walk the attributes after the unix_diag_msg into tb[], each checked
 * to lie within the payload.  Returns 0 or -EBADMSG.
 */
static int unix_attrs(const unsigned char *p, size_t len,
		      const struct nlattr *tb[UNIX_DIAG_MAX + 1])
{
	size_t off = MNL_ALIGN(sizeof(struct unix_diag_msg));

	while (off + sizeof(struct nlattr) <= len) {
		const struct nlattr *a = (const struct nlattr *)(p + off);
		uint16_t type = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < sizeof(*a) || a->nla_len > len - off)
			return -EBADMSG;
		if (type <= UNIX_DIAG_MAX)
			tb[type] = a;
		off += MNL_ALIGN(a->nla_len);
	}
	return 0;
}

/* The payload of attribute a when it has at least `need` bytes. */
static const void *attr_at_least(const struct nlattr *a, size_t need)
{
	if (!a || mnl_attr_get_payload_len(a) < need)
		return NULL;
	return mnl_attr_get_payload(a);
}

int unix_diag_decode(const void *payload, size_t len, struct sock_table *t)
{
	const struct nlattr *tb[UNIX_DIAG_MAX + 1] = { NULL };
	const struct unix_diag_msg *m = payload;
	const struct unix_diag_rqlen *q;
	const uint32_t *u32;
	const uint8_t *u8;
	struct sock_rec *r;

	if (len < sizeof(*m) || m->udiag_family != AF_UNIX)
		return -EBADMSG;
	if (unix_attrs(payload, len, tb) < 0)
		return -EBADMSG;
	if (!known_type(m->udiag_type))
		return 0;
	r = table_add_sock(t);
	if (!r)
		return -ENOMEM;
	r->protocol = PROTO_UNIX;
	r->family = AF_UNIX;
	r->utype = m->udiag_type;
	r->state = unix_state(m->udiag_state);
	r->inode = m->udiag_ino;
	r->has_local = 0;
	r->has_shutdown = 1;
	/* Each is known when its attribute came: a kernel before 5.3 sends
	 * no UNIX_DIAG_UID. */
	r->unknown = SOCK_UNKNOWN_UID | SOCK_UNKNOWN_QUEUES;
	if ((u32 = attr_at_least(tb[UNIX_DIAG_PEER], sizeof(*u32))))
		r->ux.peer_inode = *u32;
	if ((q = attr_at_least(tb[UNIX_DIAG_RQLEN], sizeof(*q)))) {
		r->recv_q = q->udiag_rqueue;
		r->send_q = q->udiag_wqueue;
		r->unknown &= (uint8_t)~SOCK_UNKNOWN_QUEUES;
	}
	if ((u8 = attr_at_least(tb[UNIX_DIAG_SHUTDOWN], sizeof(*u8))))
		r->shutdown = *u8 & (UNIX_SHUT_RCV | UNIX_SHUT_SEND);
	if ((u32 = attr_at_least(tb[UNIX_DIAG_UID], sizeof(*u32)))) {
		r->uid = *u32;
		r->unknown &= (uint8_t)~SOCK_UNKNOWN_UID;
	}
	if (tb[UNIX_DIAG_NAME] && mnl_attr_get_payload_len(tb[UNIX_DIAG_NAME]) > 0) {
		const char *name = mnl_attr_get_payload(tb[UNIX_DIAG_NAME]);
		size_t nlen = mnl_attr_get_payload_len(tb[UNIX_DIAG_NAME]);

		/* A filesystem name may come with its terminating NUL. */
		if (name[0] != '\0')
			nlen = strnlen(name, nlen);
		if (nlen && table_set_path(t, r, name, nlen) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * The name after the inode: the rest of the line, up to the newline.
 * The kernel prints "@" for an abstract name's leading NUL and for every
 * NUL inside it; a leading "@" becomes the NUL again (a filesystem name
 * that starts with "@" reads as abstract: the file cannot tell them
 * apart).
 */
static int parse_name(const char *p, unsigned char name[256], size_t *len)
{
	size_t n = strcspn(p, "\n");

	if (n > 255)
		return -EINVAL;
	memcpy(name, p, n);
	if (n && name[0] == '@')
		name[0] = '\0';
	*len = n;
	return 0;
}

int unix_parse_line(const char *line, struct sock_rec *rec,
		    unsigned char name[256], size_t *name_len)
{
	const char *p = procfile_next_field(line);
	uint32_t v, hex[5], flags, type, st;
	struct sock_rec r;

	*name_len = 0;
	if (!p)
		return -EINVAL;
	if (!strncmp(p, "Num ", 4))
		return 0;
	memset(&r, 0, sizeof(r));
	r.owners = NO_INDEX;
	r.group = NO_INDEX;
	r.protocol = PROTO_UNIX;
	r.family = AF_UNIX;
	r.unknown = SOCK_UNKNOWN_UID | SOCK_UNKNOWN_QUEUES;
	/* "Num:" (a kernel address, hashed or zero: up to 16 digits) */
	v = (uint32_t)strspn(p, "0123456789abcdefABCDEF");
	if (v == 0 || v > 16 || p[v] != ':')
		return -EINVAL;
	p += v + 1;
	/* RefCount, Protocol, Flags, Type, St (hex), then Inode */
	for (size_t i = 0; i < 5; i++)
		if (!(p = procfile_next_field(p)) || procfile_hex(&p, 16, false, &hex[i]) ||
		    procfile_field_end(p))
			return -EINVAL;
	if (!(p = procfile_next_field(p)) || procfile_dec(&p, &r.inode) ||
	    procfile_field_end(p))
		return -EINVAL;
	flags = hex[2];
	type = hex[3];
	st = hex[4];
	if (!known_type(type))
		return -EINVAL;
	r.utype = (uint8_t)type;
	if (flags & PROC_UNIX_ACCEPTCON)
		r.state = ST_LISTEN;
	else
		r.state = st == PROC_UNIX_CONNECTED ? ST_ESTABLISHED : ST_CLOSE;
	/* One space, then the name, when bound. */
	if (*p == ' ' && p[1] && p[1] != '\n' && parse_name(p + 1, name, name_len))
		return -EINVAL;
	*rec = r;
	return 1;
}

struct read_ctx {
	struct sock_table *t;
	uint32_t states;
	struct unix_stats *st;
};

static int add_line(const char *line, void *arg)
{
	struct read_ctx *c = arg;
	unsigned char name[256];
	struct sock_rec r, *slot;
	size_t nlen;
	int n = unix_parse_line(line, &r, name, &nlen);

	if (n < 0)
		c->st->malformed++;
	if (n <= 0)
		return 0;
	c->st->lines++;
	if (!(c->states & STATE_BIT(r.state)))
		return 0;
	slot = table_add_sock(c->t);
	if (!slot)
		return -ENOMEM;
	r.netns = c->t->cur_netns;
	*slot = r;
	if (nlen && table_set_path(c->t, slot, name, nlen) < 0)
		return -ENOMEM;
	return 0;
}

int unix_proc_read(const char *proc_root, struct sock_table *t,
		   uint32_t states, struct unix_stats *st)
{
	struct read_ctx c;
	char path[4096];

	memset(st, 0, sizeof(*st));
	c.t = t;
	c.states = states;
	c.st = st;
	snprintf(path, sizeof(path), "%s/net/unix", proc_root);
	return procfile_each_line(path, add_line, &c);
}
