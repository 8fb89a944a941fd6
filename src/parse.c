/* Parsers for option values: no I/O, -EINVAL or -ERANGE on bad input. */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sockaudit.h"
#include "vec.h"

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_rate(const char *s, double *out)
{
	double v = 0;
	const char *p = s;
	size_t whole = 0;

	if (!s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++, whole++) {
		v = v * 10 + (*p - '0');
		if (v > 1e9)
			return -ERANGE;
	}
	if (*p == '.') {
		double scale = 1;
		size_t frac = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, frac++)
			if (frac < 17)
				v += (*p - '0') * (scale /= 10);
		if (!frac)
			return -EINVAL;
	}
	if (*p || !whole)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_listen_addr(const char *s, struct sockaddr_storage *addr,
		      socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port_s;
	uint64_t port;
	size_t hl;

	if (!s)
		return -EINVAL;
	colon = strrchr(s, ':');
	port_s = colon ? colon + 1 : s;
	if (parse_uint(port_s, 1, 65535, &port))
		return -EINVAL;
	hl = colon ? (size_t)(colon - s) : 0;
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(addr, 0, sizeof(*addr));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	if (hl == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		return -EINVAL;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	*len = sizeof(*in4);
	return 0;
}

int parse_proc_number(const char *s, int *out)
{
	uint64_t v;

	if (parse_uint(s, 0, INT32_MAX, &v))
		return 0;
	*out = (int)v;
	return 1;
}

int parse_duration_ms(const char *s, uint32_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 } };
	char num[32];
	size_t digits, i;
	uint64_t v;
	int rc;

	if (!s)
		return -EINVAL;
	digits = strspn(s, "0123456789");
	if (digits == 0 || digits >= sizeof(num))
		return digits ? -ERANGE : -EINVAL;
	memcpy(num, s, digits);
	num[digits] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + digits, units[i].suffix) != 0)
			continue;
		rc = parse_uint(num, 0, UINT64_MAX, &v);
		if (rc)
			return rc;
		if (v > INT32_MAX / units[i].ms)
			return -ERANGE;
		*out = (uint32_t)(v * units[i].ms);
		return 0;
	}
	return -EINVAL;
}

static const char *const state_ss_names[ST_COUNT] = {
	[ST_ESTABLISHED] = "established", [ST_SYN_SENT] = "syn-sent",
	[ST_SYN_RECV] = "syn-recv",	  [ST_FIN_WAIT1] = "fin-wait-1",
	[ST_FIN_WAIT2] = "fin-wait-2",	  [ST_TIME_WAIT] = "time-wait",
	[ST_CLOSE] = "close",		  [ST_CLOSE_WAIT] = "close-wait",
	[ST_LAST_ACK] = "last-ack",	  [ST_LISTEN] = "listen",
	[ST_CLOSING] = "closing",
};

static const char *const state_json_names[ST_COUNT] = {
	[ST_ESTABLISHED] = "established", [ST_SYN_SENT] = "syn_sent",
	[ST_SYN_RECV] = "syn_recv",	  [ST_FIN_WAIT1] = "fin_wait_1",
	[ST_FIN_WAIT2] = "fin_wait_2",	  [ST_TIME_WAIT] = "time_wait",
	[ST_CLOSE] = "close",		  [ST_CLOSE_WAIT] = "close_wait",
	[ST_LAST_ACK] = "last_ack",	  [ST_LISTEN] = "listen",
	[ST_CLOSING] = "closing",	  [ST_NEW_SYN_RECV] = "syn_recv",
};

static const char *const state_table_names[ST_COUNT] = {
	[ST_ESTABLISHED] = "ESTAB",	 [ST_SYN_SENT] = "SYN-SENT",
	[ST_SYN_RECV] = "SYN-RECV",	 [ST_FIN_WAIT1] = "FIN-WAIT-1",
	[ST_FIN_WAIT2] = "FIN-WAIT-2",	 [ST_TIME_WAIT] = "TIME-WAIT",
	[ST_CLOSE] = "CLOSE",		 [ST_CLOSE_WAIT] = "CLOSE-WAIT",
	[ST_LAST_ACK] = "LAST-ACK",	 [ST_LISTEN] = "LISTEN",
	[ST_CLOSING] = "CLOSING",	 [ST_NEW_SYN_RECV] = "SYN-RECV",
};

static const char *const flag_names[FLAG_NAMES_COUNT] = {
	"close_wait", "idle", "stalled", "dead", "peer_closed", "dropping"
};

/* Compare a user's word with a name: any case, '-' and '_' alike. */
static int name_eq(const char *word, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char a = word[i], b = name[i];

		if (!b)
			return 0;
		if (a == '_')
			a = '-';
		if (b == '_')
			b = '-';
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return name[len] == '\0';
}

static int state_lookup(const char *word, size_t len, int *out)
{
	int s;

	for (s = ST_ESTABLISHED; s <= ST_CLOSING; s++) {
		if (name_eq(word, len, state_ss_names[s])) {
			*out = s;
			return 0;
		}
	}
	/* UDP and UNIX sockets that are not connected are in the kernel's
	 * TCP_CLOSE; ss calls them UNCONN. */
	if (name_eq(word, len, "unconnected")) {
		*out = ST_CLOSE;
		return 0;
	}
	return -EINVAL;
}

int parse_state_name(const char *s, int *out)
{
	if (!s)
		return -EINVAL;
	return state_lookup(s, strlen(s), out);
}

/*
 * Walk a comma-separated list, calling `item` on each element.  Empty
 * elements (",,", a trailing comma, an empty string) are malformed.
 */
static int each_item(const char *s, int (*item)(const char *, size_t, void *),
		     void *ctx)
{
	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		size_t len = strcspn(s, ",");
		int rc;

		if (len == 0)
			return -EINVAL;
		rc = item(s, len, ctx);
		if (rc)
			return rc;
		if (!s[len])
			return 0;
		s += len + 1;
	}
}

static int state_item(const char *w, size_t len, void *ctx)
{
	uint32_t *mask = ctx;
	int st;

	if (name_eq(w, len, "all")) {
		*mask |= STATES_ALL;
		return 0;
	}
	if (state_lookup(w, len, &st))
		return -EINVAL;
	*mask |= STATE_BIT(st);
	return 0;
}

int parse_state_list(const char *s, uint32_t *mask)
{
	uint32_t m = 0;
	int rc = each_item(s, state_item, &m);

	if (!rc)
		*mask = m;
	return rc;
}

static int flag_item(const char *w, size_t len, void *ctx)
{
	uint32_t *mask = ctx;
	unsigned i;

	for (i = 0; i < FLAG_NAMES_COUNT; i++) {
		if (name_eq(w, len, flag_names[i])) {
			*mask |= 1u << i;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_flag_list(const char *s, uint32_t *mask)
{
	uint32_t m = 0;
	int rc = each_item(s, flag_item, &m);

	if (!rc)
		*mask = m;
	return rc;
}

/* Copy one list element into a NUL-terminated buffer for parse_uint. */
static int item_uint(const char *w, size_t len, uint64_t min, uint64_t max,
		     uint64_t *v)
{
	char buf[24];

	if (len >= sizeof(buf))
		return -ERANGE;
	memcpy(buf, w, len);
	buf[len] = '\0';
	return parse_uint(buf, min, max, v);
}

static int port_item(const char *w, size_t len, void *ctx)
{
	uint8_t *bits = ctx;
	uint64_t v;
	int rc = item_uint(w, len, 1, 65535, &v);

	if (rc)
		return rc;
	bits[v >> 3] |= (uint8_t)(1u << (v & 7));
	return 0;
}

int parse_port_list(const char *s, uint8_t bits[65536 / 8])
{
	uint8_t tmp[65536 / 8];
	size_t i;
	int rc;

	memset(tmp, 0, sizeof(tmp));
	rc = each_item(s, port_item, tmp);
	if (rc)
		return rc;
	for (i = 0; i < sizeof(tmp); i++)
		bits[i] |= tmp[i];
	return 0;
}

struct pid_list {
	pid_t *v;
	size_t n, cap;
};

/* Any positive pid_t: whether it exists is for the audit to say. */
#define PID_LIMIT INT32_MAX

static int pid_item(const char *w, size_t len, void *ctx)
{
	struct pid_list *l = ctx;
	uint64_t v;
	int rc = item_uint(w, len, 1, PID_LIMIT, &v);

	if (rc)
		return rc;
	if (VEC_GROW(l->v, l->cap, l->n))
		return -ENOMEM;
	l->v[l->n++] = (pid_t)v;
	return 0;
}

int parse_pid_list(const char *s, pid_t **pids, size_t *npids)
{
	struct pid_list l = { NULL, 0, 0 };
	pid_t *all;
	int rc = each_item(s, pid_item, &l);

	if (rc) {
		free(l.v);
		return rc;
	}
	all = realloc(*pids, (*npids + l.n) * sizeof(*all));
	if (!all) {
		free(l.v);
		return -ENOMEM;
	}
	memcpy(all + *npids, l.v, l.n * sizeof(*all));
	*pids = all;
	*npids += l.n;
	free(l.v);
	return 0;
}

const char *state_json_name(int state)
{
	if (state <= 0 || state >= ST_COUNT)
		return "unknown";
	return state_json_names[state];
}

const char *state_table_name(int state)
{
	if (state <= 0 || state >= ST_COUNT)
		return "UNKNOWN";
	return state_table_names[state];
}

const char *sock_state_json_name(const struct sock_rec *s)
{
	if (s->protocol != PROTO_TCP && s->state == ST_CLOSE)
		return "unconnected";
	return state_json_name(s->state);
}

const char *sock_state_table_name(const struct sock_rec *s)
{
	if (s->protocol != PROTO_TCP && s->state == ST_CLOSE)
		return "UNCONN";
	return state_table_name(s->state);
}

const char *proto_name(unsigned protocol)
{
	static const char *const names[] = { "tcp", "udp", "unix" };

	return protocol < 3 ? names[protocol] : "unknown";
}

const char *unix_type_name(unsigned type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	}
	return "unknown";
}

const char *fd_type_name(unsigned type)
{
	static const char *const names[FDT_COUNT] = {
		"tcp", "udp", "unix", "other_socket", "pipe", "anon_inode", "file",
		"other"
	};

	return type < FDT_COUNT ? names[type] : "unknown";
}

const char *flag_name(unsigned flag)
{
	unsigned i;

	for (i = 0; i < FLAG_NAMES_COUNT; i++)
		if (flag == 1u << i)
			return flag_names[i];
	return "unknown";
}
