/*
 * The socket table: every socket the sources dumped, the processes that
 * hold them and the descriptors joining the two, with an index by inode.
 */
#ifndef TABLE_H
#define TABLE_H

#include "hindex.h"
#include "sockaudit.h"

struct sock_table {
	struct sock_rec *socks;
	size_t nsocks, socks_cap;
	struct proc_rec *procs;
	size_t nprocs, procs_cap;
	struct owner_ref *refs;
	size_t nrefs, refs_cap;
	/* The last owner_ref of each socket (valid while its owners is not
	 * NO_INDEX): appending an owner is O(1) however many it has. */
	uint32_t *owner_tail;
	size_t owner_tail_cap;
	struct hindex index; /* of socks, by inode */
	size_t index_used;   /* socks[0..index_used) are in the index */
	/* Local ports with a listener (either family), per network
	 * namespace: keys netns << 16 | port, indexed.  A listener in one
	 * namespace says nothing of a port in another. */
	uint64_t *listeners;
	size_t listeners_cap, nlisteners;
	struct hindex listener_index;
	/* The first port of the ephemeral range of namespaces other than
	 * the current one, when read (table_set_ephemeral_low). */
	struct table_netns {
		uint32_t netns;
		uint16_t ephemeral_low;
	} *netns;
	size_t nnetns, netns_cap;
	/* The namespace the sources are reading: stamped on every socket
	 * and listener they add (sock_rec.netns; 0: the current one). */
	uint32_t cur_netns;
	/* Names of UNIX sockets (sock_rec.ux.path - 1 is an offset): each
	 * a length byte then its raw bytes, an abstract name with its
	 * leading NUL. */
	unsigned char *paths;
	size_t paths_len, paths_cap;
};

void table_init(struct sock_table *t);
void table_free(struct sock_table *t);

/* Append a zeroed socket record; NULL when out of memory.  The pointer is
 * valid until the next table_add_sock. */
struct sock_rec *table_add_sock(struct sock_table *t);

/* How far a table was filled: what table_rollback goes back to. */
struct table_mark {
	size_t nsocks, nlisteners, paths_len;
};

/* The table's fill now, for a read that may have to start over. */
struct table_mark table_mark(const struct sock_table *t);

/*
 * Forget everything added since mark m (a dump that failed or raced
 * part-way): the sockets, the listener marks and the UNIX names, and
 * the inode index entries of dropped sockets.  Needs no memory.
 */
void table_rollback(struct sock_table *t, const struct table_mark *m);

/*
 * Drop the records from index `from` on that repeat an earlier one of
 * that range (a dump that raced with the kernel lists a socket twice):
 * the same inode, or with inode 0 (TIME-WAIT, SYN-RECV, orphans) the
 * same state and ends.  Only before table_index covers the range.
 * Returns how many were dropped, or -ENOMEM.
 */
ssize_t table_drop_repeats(struct sock_table *t, size_t from);

/* Index every socket with a non-zero inode not indexed yet.
 * Returns 0 or -ENOMEM. */
int table_index(struct sock_table *t);

/* The index of the socket with this inode, or NO_INDEX. */
uint32_t table_find(const struct sock_table *t, uint32_t inode);

/* Add a process; returns its index or NO_INDEX when out of memory. */
uint32_t table_add_proc(struct sock_table *t, pid_t pid, const char *comm,
			size_t comm_len);

/* Record that process `proc` holds socket `sock` on descriptor `fd`.
 * Returns 0 or -ENOMEM. */
int table_add_owner(struct sock_table *t, uint32_t sock, uint32_t proc,
		    int fd);

/* Record a listener on `port` in the namespace being read (cur_netns).
 * Returns 0 or -ENOMEM. */
int table_mark_listener(struct sock_table *t, uint16_t port);
/* Whether namespace `netns` (0: the current one) has a listener on port. */
int table_has_listener(const struct sock_table *t, uint32_t netns,
		       uint16_t port);

/* Remember the first ephemeral port of namespace `netns`.  Returns 0 or
 * -ENOMEM. */
int table_set_ephemeral_low(struct sock_table *t, uint32_t netns, uint16_t lo);
/* The first ephemeral port of `netns`, or `dflt` when it was not set. */
uint16_t table_ephemeral_low(const struct sock_table *t, uint32_t netns,
			     uint16_t dflt);

/* Store the UNIX name of `len` raw bytes (at most 255; a leading NUL
 * for an abstract name) as r's path.  Returns 0 or -ENOMEM. */
int table_set_path(struct sock_table *t, struct sock_rec *r, const void *name,
		   size_t len);

/* The name of UNIX socket r into *name, returning its length; 0 (and
 * *name NULL) when it is unbound or not a UNIX socket. */
size_t table_path(const struct sock_table *t, const struct sock_rec *r,
		  const unsigned char **name);

#endif
