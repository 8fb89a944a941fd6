/*
 * Helpers for the tests that run containers with real runtimes
 * (test_containerd, test_podman): shell steps, a busybox-static root
 * filesystem, a network namespace joined to the host by a veth pair, a
 * client connection from the host, the private cgroup tree a runtime
 * made, and the workload fields of a JSON report.
 */
#ifndef CTRTEST_H
#define CTRTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <cjson/cJSON.h>

/* Whether cmd is on PATH. */
bool ctr_on_path(const char *cmd);

/* Run a shell command line (printf-style); the test fails when it does
 * not exit 0. */
void ctr_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same for teardown: the exit status, nothing asserted. */
int ctr_sh_quiet(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The first line of a shell command's stdout, without its newline, into
 * out; the test fails when the command fails or prints nothing. */
void ctr_sh_line(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Poll a shell command every 200 ms until it exits 0, for at most
 * timeout_ms.  Returns whether it did. */
bool ctr_sh_wait(int timeout_ms, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* DIR/bin/busybox: busybox-static as a root filesystem. */
void ctr_make_rootfs(const char *dir);

/*
 * Network namespace NAME (nstest_create: deleted at exit) with a veth
 * pair: HOSTIF in this namespace with 10.B.C.1/30, eth0 in NAME with
 * 10.B.C.2/30, all up.  Deleting NAME deletes the pair.  Returns 0
 * or -1 with a message on stderr.
 */
int ctr_netns_veth(const char *name, const char *hostif, int b, int c);

/* A TCP connection from this namespace to ip:port, retried until it is
 * accepted or timeout_ms passed; the test fails then.  *lport: its local
 * port. */
int ctr_connect(const char *ip, int port, int timeout_ms, int *lport);

/*
 * The traffic both container tests make (the container serves httpd on
 * ip:8080 and, with nc, port 9090 whose connections a sleep keeps):
 * wait for httpd to answer, connect twice to ip:9090, keep the first
 * (returned; *held: its local port) and close the second (*closed), and
 * wait until ss in netns shows the container holding one ESTABLISHED
 * and one CLOSE-WAIT.  The test fails after timeout_ms.
 */
int ctr_traffic(const char *ip, const char *netns, int timeout_ms, int *held,
		int *closed);

/* The report has the connections ctr_traffic made: from held
 * ESTABLISHED, from closed CLOSE-WAIT. */
void ctr_check_connections(const cJSON *doc, int held, int closed);

/* Remove the cgroup directory REL (e.g. "/sockaudit-x/kubepods") and
 * everything below it, deepest first, in every hierarchy under
 * /sys/fs/cgroup.  Only empty cgroups can go; the rest stay.  Returns
 * the number of directories that could not be removed. */
int ctr_cgroup_remove(const char *rel);

/* Send sig to pid and wait up to timeout_ms for it to be gone; SIGKILL
 * after that.  A child is reaped. */
void ctr_stop_pid(pid_t pid, int sig, int timeout_ms);

/* o[key] is the string want, or JSON null when want is NULL. */
void ctr_str_is(const cJSON *o, const char *key, const char *want);

/* Run sockaudit -f json with env (NULL-terminated, or NULL) and args
 * (NULL-terminated), with RUN_TIMEOUT_MS times CK_TIMEOUT_MULTIPLIER;
 * the test fails unless it exits `status`. */
cJSON *ctr_audit(const char *const env[], const char *const args[], int status);

/* The process entry of a report for pid, or NULL. */
const cJSON *ctr_report_process(const cJSON *doc, pid_t pid);

/* The first group of a report whose object `key` ("pod", "container")
 * has field `field` equal to want, or NULL. */
const cJSON *ctr_group_by(const cJSON *doc, const char *key, const char *field,
			  const char *want);

/* When $CTRTEST_OUTPUTS names a file, run sockaudit with env and args
 * (NULL-terminated) and append the command line, its stdout, stderr and
 * exit status there: real output for the record.  Nothing is checked. */
void ctr_save_output(const char *const env[], const char *const args[]);

/*
 * Run one container test in this process (no fork: what it starts is
 * teardown's to remove), with a per-test timeout of timeout_s seconds,
 * then teardown whatever happened.  Returns main's exit status.
 */
int ctr_run(const char *name, const TTest *test, int timeout_s, void (*teardown)(void));

#endif
