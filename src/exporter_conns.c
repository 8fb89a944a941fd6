/*
 * The exporter's connections and their eviction (exporter_conns.h).
 *
 * Each connection has a record from libmicrohttpd's "started" to its
 * "closed" notification, in the order they came.  Eviction is a
 * shutdown() of the socket: libmicrohttpd reads the end of it at its
 * next run and closes the connection itself (it owns the descriptor).
 * A connection with a request being answered (a scrape waiting for its
 * audit, an answer being sent) is never evicted; the rest are fair game
 * when slots run short, those of the busiest address first, oldest
 * first.  A Prometheus server holds one or two connections: it is not
 * the busiest address while someone holds hundreds.
 */
#include "exporter_conns.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "exporter_http.h"
#include "text.h"

struct conn {
	struct conn *prev, *next;
	unsigned char addr[16]; /* IPv4: the first 4 bytes */
	int family;		/* AF_INET, AF_INET6; 0: unknown */
	int fd;
	bool busy, closing;
	void *ctx; /* conns_context */
};

/* An eviction candidate: a connection and its age rank (0: oldest). */
struct candidate {
	struct conn *c;
	unsigned rank;
};

unsigned conns_reserve(unsigned limit)
{
	unsigned r = limit / 16;

	return r < 8 ? 8 : r > 256 ? 256 : r;
}

/* The bytes of an address that make it one client: an IPv6 /64. */
static size_t key_len(const struct conn *k)
{
	return k->family == AF_INET ? 4 : k->family == AF_INET6 ? 8 : 0;
}

/* The client address of c into k (IPv4-mapped IPv6 as IPv4). */
static void conn_addr(struct MHD_Connection *c, struct conn *k)
{
	struct in6_addr a6;

	k->family = exporter_client_addr(c, k->addr);
	memcpy(&a6, k->addr, sizeof(a6));
	if (k->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6)) {
		k->family = AF_INET;
		memmove(k->addr, k->addr + 12, 4);
		memset(k->addr + 4, 0, 12);
	}
}

size_t conns_client_key(struct MHD_Connection *c, unsigned char key[8])
{
	struct conn k = { .family = 0 };
	size_t n;

	conn_addr(c, &k);
	n = key_len(&k);
	memcpy(key, k.addr, n);
	return n;
}

void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode toe)
{
	struct conns *cs = cls;
	struct conn *k = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		/* Out of memory: the connection is served, not tracked. */
		k = calloc(1, sizeof(*k));
		*socket_context = k;
		if (!k)
			return;
		k->fd = ci ? ci->connect_fd : -1;
		conn_addr(c, k);
		k->prev = cs->last;
		if (cs->last)
			cs->last->next = k;
		else
			cs->first = k;
		cs->last = k;
		cs->n++;
		return;
	}
	if (!k)
		return;
	*socket_context = NULL;
	if (k->prev)
		k->prev->next = k->next;
	else
		cs->first = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		cs->last = k->prev;
	cs->n--;
	if (k->closing)
		cs->closing--;
	free(k);
}

void **conns_context(void *socket_context)
{
	struct conn *k = socket_context;

	return k ? &k->ctx : NULL;
}

void conns_busy(struct MHD_Connection *c, bool busy)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci ? ci->socket_context : NULL;

	if (k)
		k->busy = busy;
}

/* Candidates by client, oldest first within one. */
static int by_client(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	int d = x->c->family - y->c->family;

	if (!d)
		d = memcmp(x->c->addr, y->c->addr, key_len(x->c));
	if (!d)
		d = x->rank < y->rank ? -1 : x->rank > y->rank;
	return d;
}

/* Whether two candidates are of one client. */
static bool same_client(const struct candidate *x, const struct candidate *y)
{
	return x->c->family == y->c->family &&
	       !memcmp(x->c->addr, y->c->addr, key_len(x->c));
}

/*
 * The client with the most candidates left (ties: the oldest
 * connection) among the runs of v (sorted by_client; next[i]: the first
 * candidate not yet evicted of the run starting at i, end[i] its end).
 * Returns the run's start, or m when none is left.
 */
static unsigned busiest(const struct candidate *v, unsigned m, const unsigned *next,
			const unsigned *end)
{
	unsigned best = m, best_left = 0;

	for (unsigned i = 0; i < m; i = end[i]) {
		unsigned left = end[i] - next[i];

		if (left && (left > best_left ||
			     (left == best_left && v[next[i]].rank < v[next[best]].rank))) {
			best = i;
			best_left = left;
		}
	}
	return best;
}

static void conns_log(struct exporter_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A line through libmicrohttpd's logger: once a minute per kind. */
static void conns_log(struct exporter_log *log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	exporter_mhd_log(log, fmt, ap);
	va_end(ap);
}

/* Shut the connection of a candidate down and count it. */
static void evict(struct conns *cs, struct conn *k)
{
	shutdown(k->fd, SHUT_RDWR);
	k->closing = true;
	cs->closing++;
	if (cs->evicted)
		atomic_fetch_add(cs->evicted, 1);
}

unsigned conns_evict(struct conns *cs)
{
	unsigned reserve = conns_reserve(cs->limit), open = cs->n - cs->closing;
	unsigned need, m = 0, done = 0, first_client = 0, *next, *end;
	struct candidate *v;
	char who[64] = "?";

	if (!cs->limit || open + reserve <= cs->limit)
		return 0;
	need = open + reserve - cs->limit;
	v = calloc(open, sizeof(*v));
	next = calloc(open, sizeof(*next));
	end = calloc(open, sizeof(*end));
	if (!v || !next || !end)
		goto out;
	for (struct conn *k = cs->first; k && m < open; k = k->next)
		if (!k->busy && !k->closing && k->fd >= 0) {
			v[m].c = k;
			v[m].rank = m;
			m++;
		}
	qsort(v, m, sizeof(*v), by_client);
	for (unsigned i = 0, j; i < m; i = j) {
		for (j = i + 1; j < m && same_client(&v[i], &v[j]); j++)
			;
		next[i] = i;
		end[i] = j;
	}
	for (; done < need; done++) {
		unsigned run = busiest(v, m, next, end);

		if (run == m)
			break;
		if (!done) {
			first_client = end[run] - next[run];
			if (v[run].c->family)
				text_addr(v[run].c->family, v[run].c->addr, who, sizeof(who));
		}
		evict(cs, v[next[run]++].c);
	}
	if (done)
		conns_log(cs->log, "slots short: evicted %u idle or slow connections, the first "
			  "of %s (it held %u such)", done, who, first_client);
out:
	free(v);
	free(next);
	free(end);
	return done;
}
