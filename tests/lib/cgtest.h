/*
 * Real cgroups for the workload tests: find the mounted hierarchies
 * (cgroup2, and name=systemd on hybrid hosts), make a cgroup at the
 * same path in each, move a process into it, and remove them again,
 * killing (by PID) what is left in them.
 */
#ifndef CGTEST_H
#define CGTEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The hierarchies a process is moved in: unified, name=systemd. */
#define CGTEST_NHIER 2

/* Their mount points ("" when not mounted), set by cgtest_find. */
extern char cgtest_hier[CGTEST_NHIER][PATH_MAX];

/* Find the cgroup2 mount and the name=systemd one. */
void cgtest_find(void);

/* Whether the tests can make cgroups: root and a cgroup2 mount. */
bool cgtest_usable(void);

/* mkdir -p.  Returns 0 or -errno. */
int cgtest_mkdir_p(char *path);

/* Move pid into the cgroup at directory dir.  Returns 0 or -errno. */
int cgtest_write_pid(const char *dir, pid_t pid);

/* Make the cgroup rel ("/a/b.scope", below each hierarchy's root) in
 * every mounted hierarchy and move pid into it.  Returns 0 or -errno. */
int cgtest_place(const char *rel, pid_t pid);

/* Kill (by PID) what is left in dir and below, then remove them,
 * deepest first.  Returns 0 when dir is gone. */
int cgtest_remove_tree(const char *dir);

/* cgtest_remove_tree of rel in every mounted hierarchy. */
void cgtest_remove(const char *rel);

/* A helper process that listens on 127.0.0.1 (its port in *port) and
 * waits to be killed. */
pid_t cgtest_listener(int *port);

#endif
