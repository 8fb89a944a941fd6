/*
 * fdscan on a fixture tree built at test time: PID directories with
 * fd/ entries that are symlinks ("socket:[N]", files, pipes), a comm
 * file, and processes that are missing.  Checks every socket descriptor
 * is found once, in PID order, with its name, and that nothing else is.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdscan.h"
#include "owners.h"
#include "sockaudit.h"
#include "lib/runsuite.h"

static char root[64];

static void put_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void put_link(int pid, int fd, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%d/fd/%d", root, pid, fd);
	ck_assert_int_eq(symlink(target, path), 0);
}

/* A process directory with a comm and an empty fd/ directory. */
static void put_proc(int pid, const char *comm)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%d/comm", pid);
	put_file(path, comm);
}

static void setup(void)
{
	int pid;

	snprintf(root, sizeof(root), "/tmp/fdscan-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	/* 40 processes, PIDs 100..139 (listed in directory order, not
	 * sorted): each holds sockets 1000*pid + 0..k and other files. */
	for (pid = 139; pid >= 100; pid--) {
		char comm[32];
		int k;

		snprintf(comm, sizeof(comm), "proc%d\n", pid);
		put_proc(pid, comm);
		put_link(pid, 0, "/dev/null");
		put_link(pid, 1, "pipe:[77]");
		for (k = 0; k < pid % 5; k++) {
			char target[32];

			snprintf(target, sizeof(target), "socket:[%d]", 1000 * pid + k);
			put_link(pid, 3 + k, target);
		}
		put_link(pid, 20, "socket:[0]");	  /* not an inode */
		put_link(pid, 21, "socket:[12x]");	  /* malformed */
		put_link(pid, 22, "anon_inode:[eventfd]"); /* not a socket */
	}
	/* A name with a newline inside keeps it; only the last is cut. */
	put_proc(200, "a\nb\n");
	put_link(200, 5, "socket:[4242]");
	/* Soft limits on open files (read for socket holders only). */
	put_file("101/limits",
		 "Limit                     Soft Limit           Hard Limit           Units     \n"
		 "Max processes             95069                95069                processes \n"
		 "Max open files            1024                 4096                 files     \n");
	put_file("102/limits",
		 "Limit                     Soft Limit           Hard Limit           Units     \n"
		 "Max open files            unlimited            unlimited            files     \n");
	put_file("103/limits", "Max open files            12x4   4096   files\n");
	/* Status files for owners_pid_check. */
	put_file("120/status", "Name:\tp\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t120\nPid:\t120\nThreads:\t1\n");
	put_file("121/status", "Name:\tp\nState:\tZ (zombie)\nTgid:\t121\nPid:\t121\nThreads:\t1\n");
	put_file("122/status", "Name:\tp\nState:\tZ (zombie)\nTgid:\t122\nPid:\t122\nThreads:\t3\n");
	put_file("123/status", "Name:\tp\nState:\tS (sleeping)\nTgid:\t120\nPid:\t123\nThreads:\t2\n");
	put_file("124/status", "Name:\tp\nState:\tR (running)\nPid:\t124\n");
	put_file("self", "not a process");
	put_file("net", "not a process either");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_all_processes)
{
	struct fdscan s;
	size_t i, k;

	ck_assert_int_eq(fdscan_start(&s, root, NULL, 0), 0);
	ck_assert_int_eq(fdscan_wait(&s), 0);
	ck_assert_uint_eq(s.nprocs, 41);
	for (i = 0; i < 40; i++) {
		const struct proc_fds *p = &s.procs[i];
		char want[32];

		ck_assert_int_eq(p->pid, 100 + (int)i);
		ck_assert_int_eq(p->err, 0);
		ck_assert_uint_eq(p->nsocks, (size_t)(p->pid % 5));
		for (k = 0; k < p->nsocks; k++) {
			/* Directory order is not fd order: look each up. */
			size_t m;
			int found = 0;

			for (m = 0; m < p->nsocks; m++)
				found += p->socks[m].fd == 3 + (int)k &&
					 p->socks[m].inode == (uint32_t)(1000 * p->pid + (int)k);
			ck_assert_msg(found == 1, "pid %d fd %zu", p->pid, 3 + k);
		}
		if (p->nsocks) {
			snprintf(want, sizeof(want), "proc%d", p->pid);
			ck_assert_uint_eq(p->comm_len, strlen(want));
			ck_assert(memcmp(p->comm, want, p->comm_len) == 0);
		} else {
			/* Names are read only for processes with sockets. */
			ck_assert_uint_eq(p->comm_len, 0);
		}
	}
	ck_assert_int_eq(s.procs[40].pid, 200);
	ck_assert_uint_eq(s.procs[40].comm_len, 3);
	ck_assert(memcmp(s.procs[40].comm, "a\nb", 3) == 0);
	fdscan_free(&s);
}
END_TEST

START_TEST(test_given_pids)
{
	/* Unsorted, repeated, and one that does not exist. */
	const pid_t pids[] = { 137, 101, 137, 555 };
	struct fdscan s;

	ck_assert_int_eq(fdscan_start(&s, root, pids, 4), 0);
	ck_assert_int_eq(fdscan_wait(&s), 0);
	ck_assert_uint_eq(s.nprocs, 3);
	ck_assert_int_eq(s.procs[0].pid, 101);
	ck_assert_uint_eq(s.procs[0].nsocks, 1);
	ck_assert_int_eq(s.procs[1].pid, 137);
	ck_assert_uint_eq(s.procs[1].nsocks, 2);
	ck_assert_int_eq(s.procs[2].pid, 555);
	ck_assert_int_eq(s.procs[2].err, -ENOENT);
	ck_assert_uint_eq(s.procs[2].nsocks, 0);
	fdscan_free(&s);
}
END_TEST

/* Descriptor counts: every fd entry, the socket links among them, and
 * the soft limit of socket holders from PID/limits. */
START_TEST(test_descriptor_counts)
{
	struct fdscan s;
	size_t i;

	ck_assert_int_eq(fdscan_start(&s, root, NULL, 0), 0);
	ck_assert_int_eq(fdscan_wait(&s), 0);
	for (i = 0; i < 40; i++) {
		const struct proc_fds *p = &s.procs[i];

		/* /dev/null, a pipe, pid % 5 sockets, two malformed socket
		 * links and an eventfd. */
		ck_assert_uint_eq(p->fds, 5u + (unsigned)(p->pid % 5));
		ck_assert_uint_eq(p->socket_fds, 2u + (unsigned)(p->pid % 5));
	}
	ck_assert(s.procs[1].has_fd_limit);		/* 101 */
	ck_assert_uint_eq(s.procs[1].fd_limit, 1024);
	ck_assert(s.procs[2].has_fd_limit);		/* 102 */
	ck_assert(s.procs[2].fd_limit == FD_LIMIT_NONE);
	ck_assert(!s.procs[3].has_fd_limit);		/* 103: malformed */
	ck_assert(!s.procs[4].has_fd_limit);		/* 104: no file */
	ck_assert(!s.procs[0].has_fd_limit);		/* 100: no sockets */
	fdscan_free(&s);
}
END_TEST

struct pid_row {
	pid_t pid;
	int ret;
	pid_t tgid;
};

static const struct pid_row pid_rows[] = {
	{ 120, 0, 120 },	/* a process */
	{ 121, -ESRCH, 121 },	/* a zombie: exited, not reaped */
	{ 122, 0, 122 },	/* a leader that exited, its threads run */
	{ 123, 0, 120 },	/* a thread of 120 */
	{ 124, -EPROTO, 0 },	/* no Tgid line */
	{ 125, -ENOENT, 0 },	/* no such process */
};

START_TEST(test_pid_check_rows)
{
	const struct pid_row *r = &pid_rows[_i];
	pid_t tgid = 0;
	int ret = owners_pid_check(root, r->pid, &tgid);

	ck_assert_msg(ret == r->ret, "pid %d: %d, want %d", (int)r->pid, ret, r->ret);
	if (r->ret == 0 || r->ret == -ESRCH)
		ck_assert_int_eq(tgid, r->tgid);
}
END_TEST

START_TEST(test_no_root)
{
	struct fdscan s;

	ck_assert_int_eq(fdscan_start(&s, "/nonexistent/proc", NULL, 0), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("fdscan");
	TCase *tc = tcase_create("fixture");
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_all_processes);
	tcase_add_test(tc, test_given_pids);
	tcase_add_test(tc, test_no_root);
	tcase_add_test(tc, test_descriptor_counts);
	tcase_add_loop_test(tc, test_pid_check_rows, 0,
			    (int)(sizeof(pid_rows) / sizeof(pid_rows[0])));
	suite_add_tcase(su, tc);
	failed = run_suite(su);
	return failed != 0;
}
