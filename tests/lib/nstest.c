/* Network namespaces for tests (see nstest.h). */
#include "nstest.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_DIR "/run/netns"
#define MAX_NS 8

static char names[MAX_NS][32];
static int nnames;
static pid_t maker;
static int saved_fd = -1;

bool nstest_available(const char **why)
{
	struct run_result r;
	const char *const argv[] = { "ip", "netns", "list", NULL };
	bool ok;

	if (geteuid() != 0) {
		*why = "needs root";
		return false;
	}
	ok = run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r) == 0 && r.status == 0;
	run_result_free(&r);
	if (!ok)
		*why = "`ip netns list` fails (iproute2 missing?)";
	return ok;
}

/* Run argv quietly; 0 when it ran and exited 0, else -1 with what it
 * said on stderr. */
static int run_quiet(const char *const argv[])
{
	struct run_result r;
	int rc = run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r) == 0 && r.status == 0 ? 0 : -1;

	if (rc)
		fprintf(stderr, "nstest: %s %s %s: %s", argv[0], argv[1], argv[2],
			r.err && *r.err ? r.err : "failed\n");
	run_result_free(&r);
	return rc;
}

/* Async-signal-safe removal of what `ip netns add` made: the bind mount
 * and its file. */
static void remove_mounts(void)
{
	int i;

	for (i = 0; i < nnames; i++) {
		char path[64];
		size_t len = strlen(RUN_DIR);

		/* No snprintf here: build the path by hand. */
		memcpy(path, RUN_DIR, len);
		path[len] = '/';
		memcpy(path + len + 1, names[i], strlen(names[i]) + 1);
		umount2(path, MNT_DETACH);
		unlink(path);
	}
}

static void on_signal(int sig)
{
	if (getpid() == maker) {
		remove_mounts();
		nnames = 0;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void nstest_delete_all(void)
{
	int i;

	if (getpid() != maker)
		return;
	for (i = 0; i < nnames; i++) {
		const char *const argv[] = { "ip", "netns", "del", names[i], NULL };

		if (run_quiet(argv))
			remove_mounts(); /* at least the mount and the name */
	}
	nnames = 0;
}

int nstest_create(const char *name)
{
	const char *const add[] = { "ip", "netns", "add", name, NULL };
	const char *const lo[] = { "ip", "-n", name, "link", "set", "lo", "up", NULL };
	const char *const del[] = { "ip", "netns", "del", name, NULL };

	if (nnames == MAX_NS || strlen(name) >= sizeof(names[0]))
		return -1;
	if (!maker) {
		maker = getpid();
		atexit(nstest_delete_all);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
	}
	if (run_quiet(add))
		return -1;
	snprintf(names[nnames++], sizeof(names[0]), "%s", name);
	if (run_quiet(lo)) {
		run_quiet(del);
		nnames--;
		return -1;
	}
	return 0;
}

bool nstest_listed(const char *name)
{
	const char *const argv[] = { "ip", "netns", "list", NULL };
	struct run_result r;
	bool found = false;
	char *line, *save = NULL;

	if (run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r) == 0 && r.status == 0) {
		/* Lines are "NAME" or "NAME (id: N)". */
		for (line = strtok_r(r.out, "\n", &save); line && !found;
		     line = strtok_r(NULL, "\n", &save)) {
			size_t n = strlen(name);

			found = !strncmp(line, name, n) && (line[n] == '\0' || line[n] == ' ');
		}
	}
	run_result_free(&r);
	return found;
}

uint32_t nstest_inode(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", RUN_DIR, name);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return (uint32_t)st.st_ino;
}

void nstest_enter(const char *name)
{
	char path[128];
	int fd;

	ck_assert_msg(saved_fd < 0, "nstest_enter twice");
	saved_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_msg(saved_fd >= 0, "open our namespace: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", RUN_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_msg(setns(fd, CLONE_NEWNET) == 0, "setns %s: %s", path,
		      strerror(errno));
	close(fd);
}

void nstest_leave(void)
{
	ck_assert_msg(saved_fd >= 0, "nstest_leave without nstest_enter");
	ck_assert_msg(setns(saved_fd, CLONE_NEWNET) == 0, "setns back: %s",
		      strerror(errno));
	close(saved_fd);
	saved_fd = -1;
}

int nstest_ss_dump(const char *name, struct ss_entry **out)
{
	const char *const argv[] = { "ip", "netns", "exec", name, "ss", "-tanpeH",
				     NULL };

	return ss_run(argv, out);
}
