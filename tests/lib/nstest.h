/*
 * Network namespaces for tests: named ones made with `ip netns add`
 * (unique names, loopback up), always deleted when the process that
 * made them exits, normally or on SIGINT/SIGTERM/SIGHUP; entering one on
 * the calling thread to start scenario processes in it; and the ss(8)
 * oracle run inside one (`ip netns exec NAME ss -tanpeH`).
 *
 * Make the namespaces in main, before the Check runner forks: the
 * forked tests inherit the exit handler but never run it (it checks the
 * PID), so only the maker deletes them.
 */
#ifndef NSTEST_H
#define NSTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "testlib.h"

/* Whether namespaces can be made here: root, ip(8), /run writable.
 * When false, *why says what is missing. */
bool nstest_available(const char **why);

/*
 * `ip netns add NAME` and `ip -n NAME link set lo up`, and remember NAME
 * for nstest_delete_all (registered at exit and on signals the first
 * time).  NAME at most 31 bytes.  Returns 0, or -1 with a message on
 * stderr (nothing left behind).
 */
int nstest_create(const char *name);

/* Delete every namespace nstest_create made (ip netns del), if this is
 * the process that made them.  Idempotent. */
void nstest_delete_all(void);

/* Whether `ip netns list` shows NAME. */
bool nstest_listed(const char *name);

/* The inode of namespace NAME (of /run/netns/NAME); the test fails when
 * it cannot be read. */
uint32_t nstest_inode(const char *name);

/* Move the calling thread into namespace NAME, and back to the one it
 * was in; the test fails on any error.  Scenarios started in between
 * run in NAME (their processes are forked there). */
void nstest_enter(const char *name);
void nstest_leave(void);

/* ss_dump inside namespace NAME.  Returns the number of entries or -1. */
int nstest_ss_dump(const char *name, struct ss_entry **out);

#endif
