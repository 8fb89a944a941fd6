/* Source: TCP, UDP and UNIX sockets dumped with sock_diag (NETLINK_SOCK_DIAG). */
#ifndef SOURCE_NETLINK_H
#define SOURCE_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/* What to ask the kernel for. */
struct dump_request {
	unsigned protocol; /* enum sock_proto: PROTO_TCP (0), UDP, UNIX */
	unsigned families; /* FAMILY_INET | FAMILY_INET6 (TCP, UDP) */
	uint32_t states;   /* STATE_BIT mask, passed in idiag_states */
	int want_info;	   /* TCP: tcp_info (INET_DIAG_INFO); UDP:
			    * sk_meminfo (INET_DIAG_SKMEMINFO) */
	/* Optional kernel-side filter (a 65536-bit port set, NULL = any):
	 * only sockets whose local port is in it are dumped.  (No remote
	 * port filter: it would drop the listeners, whose remote port is 0,
	 * that make a local port server-side.) */
	const uint8_t *ports;
};

struct netlink_stats {
	int inconsistent;     /* still interrupted (or listing a socket
			       * twice) after the last retry */
};

/*
 * Dump the requested families and states into the table.  Listeners
 * found are also recorded with table_mark_listener.  Returns 0, or -errno when
 * the dump could not be done (socket, bind, send, a kernel NLMSG_ERROR,
 * a malformed reply); the table may then hold part of a dump and the
 * caller should start over with another source.
 */
int netlink_dump(struct sock_table *t, const struct dump_request *req,
		 struct netlink_stats *st);

/*
 * Decode one buffer of netlink messages as read from the socket (the
 * part of netlink_dump that does no I/O, fed recorded bytes by tests).
 * Every inet_diag message becomes a sock_rec in the table (listeners are
 * also recorded with table_mark_listener).  seq and portid are checked when
 * non-zero (-EPROTO, -ESRCH).  *interrupted is set to 1 when a message
 * carries NLM_F_DUMP_INTR (the dump changed while it was read; its
 * records are still decoded).
 * Returns 1 when more messages are expected, 0 at NLMSG_DONE, or
 * -errno: the kernel's error from NLMSG_ERROR (e.g. -EPERM), -EBADMSG for
 * a malformed message (short header or payload, bad family), -ENOMEM.
 */
int netlink_decode(const void *buf, size_t len, uint32_t seq, uint32_t portid,
		   struct sock_table *t, int *interrupted);

/*
 * netlink_decode for a dump of `protocol` (enum sock_proto): PROTO_TCP
 * is netlink_decode; PROTO_UDP decodes inet_diag messages as UDP sockets
 * (drops from INET_DIAG_SKMEMINFO); PROTO_UNIX decodes unix_diag
 * messages (unix_diag_decode).  Same returns.
 */
int netlink_decode_proto(const void *buf, size_t len, uint32_t seq,
			 uint32_t portid, unsigned protocol,
			 struct sock_table *t, int *interrupted);

#endif
