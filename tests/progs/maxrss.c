/*
 * maxrss: run a command and report its peak RSS and CPU time.
 *
 *   maxrss COMMAND [ARG...]
 *
 * Forks, execs COMMAND (searched in PATH) with stdin, stdout and stderr
 * untouched, waits with wait4, then appends one line to stderr:
 *
 *   maxrss: <peak RSS KiB> <user+system CPU s> <wall s>
 *
 * and exits with the command's status (128 + signal when killed).
 *
 * Why a separate program: the kernel keeps a process's peak RSS across
 * execve, so a command forked straight from a big test process reports
 * the test's own RSS at fork time.  Forked from this small program, its
 * ru_maxrss is its own.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0;
	pid_t pid;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: maxrss COMMAND [ARG...]\n");
		return 2;
	}
	t0 = now_s();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "maxrss: fork: %s\n", strerror(errno));
		return 127;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "maxrss: exec %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "maxrss: wait4: %s\n", strerror(errno));
			return 127;
		}
	}
	fprintf(stderr, "maxrss: %ld %.3f %.3f\n", ru.ru_maxrss,
		(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		now_s() - t0);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}
