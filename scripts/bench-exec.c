/*
 * bench-exec — run one command for scripts/bench and report its wall time
 * and peak RSS (wait4's rusage), without a shell.
 *
 * Why not fork from Python: a process's ru_maxrss is kept across exec, and
 * a forked child starts with its parent's resident pages, so anything
 * fork+exec'd by the Python driver reports at least the interpreter's RSS
 * (about 10 MiB here, more than `ss -tan` needs).  This helper is small, so
 * the child it forks starts from a few hundred KiB.
 *
 * Usage: bench-exec [-t TIMEOUT_S] [-o STDOUT_FILE] [-e STDERR_FILE] -- CMD [ARG]...
 * stdin and (by default) stdout and stderr are /dev/null.  Prints one line:
 *   status=exit code=C wall_s=W maxrss_kib=K utime_s=U stime_s=S
 * with status exit, signal (code = signal number) or timeout (killed after
 * TIMEOUT_S seconds), and exits 0; exits 2 on a usage or system error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static int open_out(const char *path)
{
	if (!path)
		return open("/dev/null", O_WRONLY | O_CLOEXEC);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

int main(int argc, char **argv)
{
	double timeout = 0;
	const char *out_path = NULL, *err_path = NULL;
	int c, in, out, err, pidfd, status, timed_out = 0;
	pid_t pid;
	struct rusage ru;
	double t0, t1;

	while ((c = getopt(argc, argv, "+t:o:e:")) != -1) {
		switch (c) {
		case 't': timeout = strtod(optarg, NULL); break;
		case 'o': out_path = optarg; break;
		case 'e': err_path = optarg; break;
		default:
			fprintf(stderr, "usage: bench-exec [-t TIMEOUT_S] [-o FILE] [-e FILE] -- CMD [ARG]...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "bench-exec: no command\n");
		return 2;
	}
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = open_out(out_path);
	err = open_out(err_path);
	if (in < 0 || out < 0 || err < 0) {
		fprintf(stderr, "bench-exec: open: %s\n", strerror(errno));
		return 2;
	}

	t0 = mono();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bench-exec: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execvp(argv[optind], argv + optind);
		dprintf(2, "bench-exec: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (timeout > 0 && pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int ms = (int)(timeout * 1000);
		int r;
		do
			r = poll(&pfd, 1, ms);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
		}
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bench-exec: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	t1 = mono();

	const char *st = timed_out ? "timeout" : WIFSIGNALED(status) ? "signal" : "exit";
	int code = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
	printf("status=%s code=%d wall_s=%.6f maxrss_kib=%ld utime_s=%.6f stime_s=%.6f\n", st, code, t1 - t0,
	       ru.ru_maxrss, tv(ru.ru_utime), tv(ru.ru_stime));
	return 0;
}
