/*
 * Real cgroups for the workload tests (see cgtest.h).
 */
#include "cgtest.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

char cgtest_hier[CGTEST_NHIER][PATH_MAX];

void cgtest_find(void)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], dir[PATH_MAX], type[64], opts[1024];

	cgtest_hier[0][0] = cgtest_hier[1][0] = '\0';
	if (!f)
		return;
	while (fscanf(f, "%255s %4095s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
		if (!strcmp(type, "cgroup2") && !cgtest_hier[0][0])
			snprintf(cgtest_hier[0], PATH_MAX, "%s", dir);
		else if (!strcmp(type, "cgroup") && strstr(opts, "name=systemd") &&
			 !cgtest_hier[1][0])
			snprintf(cgtest_hier[1], PATH_MAX, "%s", dir);
	}
	fclose(f);
}

bool cgtest_usable(void)
{
	return geteuid() == 0 && cgtest_hier[0][0];
}

int cgtest_mkdir_p(char *path)
{
	char *p;

	for (p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) && errno != EEXIST) {
				*p = '/';
				return -errno;
			}
			*p = '/';
		}
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

int cgtest_write_pid(const char *dir, pid_t pid)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/cgroup.procs", dir) < 0)
		return -ENOMEM;
	f = fopen(path, "w");
	free(path);
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)pid);
	return fclose(f) ? -errno : 0;
}

int cgtest_place(const char *rel, pid_t pid)
{
	size_t h;
	int rc = 0;

	for (h = 0; h < CGTEST_NHIER && !rc; h++) {
		char *dir;

		if (!cgtest_hier[h][0])
			continue;
		if (asprintf(&dir, "%s%s", cgtest_hier[h], rel) < 0)
			return -ENOMEM;
		rc = cgtest_mkdir_p(dir);
		if (!rc)
			rc = cgtest_write_pid(dir, pid);
		free(dir);
	}
	return rc;
}

int cgtest_remove_tree(const char *dir)
{
	char cmd[PATH_MAX * 3];

	snprintf(cmd, sizeof(cmd),
		 "d='%s'; [ -d \"$d\" ] || exit 0; "
		 "for p in $(find \"$d\" -name cgroup.procs -exec cat {} +); do "
		 "kill -9 $p 2>/dev/null; done; sleep 0.2; "
		 "find \"$d\" -depth -type d -exec rmdir {} + 2>/dev/null; "
		 "[ ! -d \"$d\" ]", dir);
	return system(cmd) == 0 ? 0 : -EBUSY;
}

void cgtest_remove(const char *rel)
{
	size_t h;

	for (h = 0; h < CGTEST_NHIER; h++) {
		char *dir;

		if (!cgtest_hier[h][0] || asprintf(&dir, "%s%s", cgtest_hier[h], rel) < 0)
			continue;
		if (cgtest_remove_tree(dir))
			fprintf(stderr, "cgtest: could not remove %s\n", dir);
		free(dir);
	}
}

pid_t cgtest_listener(int *port)
{
	uint16_t be = 0;
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		int s = socket(AF_INET, SOCK_STREAM, 0);

		close(p[0]);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 64) ||
		    getsockname(s, (struct sockaddr *)&a, &len))
			_exit(1);
		if (write(p[1], &a.sin_port, sizeof(a.sin_port)) != sizeof(a.sin_port))
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &be, sizeof(be)), (int)sizeof(be));
	close(p[0]);
	*port = ntohs(be);
	return pid;
}
