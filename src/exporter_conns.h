/*
 * The exporter's connections: who holds each slot, and eviction when
 * slots run short.  A client that holds many connections without a
 * request being answered on them (slowloris: a request that never
 * ends; silent; idle kept-alive) would leave none for scrapes, since
 * libmicrohttpd accepts no more at its connection limit.  When fewer
 * than a reserve of slots are free, the oldest such connections of the
 * address holding the most of them are closed.
 *
 * Every function runs on the thread that runs libmicrohttpd (its
 * callbacks and the loop between two runs): no locking.
 */
#ifndef EXPORTER_CONNS_H
#define EXPORTER_CONNS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

struct exporter_log;
struct conn;

struct conns {
	struct conn *first, *last; /* oldest first */
	unsigned n;		   /* connections open */
	unsigned closing;	   /* evicted, not closed yet */
	unsigned limit;		   /* libmicrohttpd's connection limit */
	atomic_ullong *evicted;	   /* counted here when not NULL */
	struct exporter_log *log;  /* for the line once per episode */
};

/* Slots kept free for a connection limit: a sixteenth, 8 to 256. */
unsigned conns_reserve(unsigned limit);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the
 * struct conns): a connection opened or closed. */
void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode toe);

/* The place a connection's record keeps another module's context for
 * it (socket_context: what conns_notify set), or NULL when it has no
 * record. */
void **conns_context(void *socket_context);

/* The bytes that make c's client one client, as eviction groups them
 * (an IPv4 address, an IPv6 /64; IPv4-mapped IPv6 as IPv4) into key:
 * returns how many (4 or 8), 0 when the address is unknown. */
size_t conns_client_key(struct MHD_Connection *c, unsigned char key[8]);

/* A request is being answered on c (from its first handler call to
 * its completion): not evicted meanwhile. */
void conns_busy(struct MHD_Connection *c, bool busy);

/*
 * When fewer than conns_reserve slots are free, evict (shutdown, which
 * libmicrohttpd sees at its next run and closes) the oldest connections
 * without a request being answered of the address (an IPv6 /64) holding
 * the most of them, then of the next, until the reserve is free again.
 * Returns how many were evicted.
 */
unsigned conns_evict(struct conns *cs);

#endif
