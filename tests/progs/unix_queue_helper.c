/*
 * unix_queue_helper: a process holding a UNIX stream socketpair with
 * unread bytes, as another user, for test_unix_unknown.
 *
 *   unix_queue_helper UID BYTES
 *
 * Drops to UID (group UID, no supplementary groups; needs root), then
 * creates the pair: end A writes BYTES bytes that end B never reads
 * (B's receive queue holds them; A's send queue their buffers).  Prints
 * "ready INODE_A FD_A INODE_B FD_B" and waits until killed; it dies
 * with its parent.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "unix_queue_helper: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A whole number in [0, max] from s, else exit. */
static long number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) {
		fprintf(stderr, "unix_queue_helper: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* The inode number of descriptor fd. */
static unsigned long inode_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		die("fstat");
	return (unsigned long)st.st_ino;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	long uid, bytes, done = 0;
	pid_t parent;
	int sv[2];

	if (argc != 3) {
		fprintf(stderr, "usage: unix_queue_helper UID BYTES\n");
		return 2;
	}
	uid = number(argv[1], 65534);
	bytes = number(argv[2], (long)sizeof(buf));
	parent = getppid();
	if (setgroups(0, NULL) || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid))
		die("dropping to the uid");
	/* Changing credentials clears the parent-death signal: set it now,
	 * and go if the parent is already gone. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		return 1;
	/* The socket is created as UID: its inode and sk_uid are UID's. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	memset(buf, 'q', sizeof(buf));
	while (done < bytes) {
		ssize_t n = write(sv[0], buf + done, (size_t)(bytes - done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		done += n;
	}
	printf("ready %lu %d %lu %d\n", inode_of(sv[0]), sv[0], inode_of(sv[1]), sv[1]);
	fflush(stdout);
	for (;;)
		pause();
}
