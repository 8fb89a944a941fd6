/*
 * LD_PRELOAD shim: one setns(2) call fails.  SHIM_SETNS_FAIL_CALL=N
 * makes the Nth call (from 1) fail with errno SHIM_SETNS_ERRNO (a
 * number, EINVAL by default) without doing anything; every other call
 * is the real setns.  For `sockaudit --netns NS`, call 1 enters NS and
 * call 2 returns: failing call 2 leaves the thread in NS.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

int setns(int fd, int nstype)
{
	static int (*real_setns)(int, int);
	static int calls;
	const char *n = getenv("SHIM_SETNS_FAIL_CALL");
	const char *e = getenv("SHIM_SETNS_ERRNO");

	if (n && atoi(n) == ++calls) {
		errno = e ? atoi(e) : EINVAL;
		return -1;
	}
	if (!real_setns) {
		real_setns = (int (*)(int, int))dlsym(RTLD_NEXT, "setns");
		if (!real_setns) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real_setns(fd, nstype);
}
