/*
 * nofile: run a command with a soft and hard RLIMIT_NOFILE of N, as
 * `prlimit --nofile=N:N` does (for tests/test_races.c).
 *
 *   nofile N COMMAND [ARG]...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rlimit rl;
	char *end;
	long n;

	if (argc < 3) {
		fprintf(stderr, "usage: nofile N COMMAND [ARG]...\n");
		return 2;
	}
	n = strtol(argv[1], &end, 10);
	if (*end || n < 0) {
		fprintf(stderr, "nofile: bad limit '%s'\n", argv[1]);
		return 2;
	}
	rl.rlim_cur = rl.rlim_max = (rlim_t)n;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "nofile: setrlimit: %s\n", strerror(errno));
		return 126;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "nofile: exec %s: %s\n", argv[2], strerror(errno));
	return 127;
}
