/*
 * For LD_PRELOAD shims whose tests are about the netlink source: the
 * bpf(2) system call fails with EPERM, as for a process without
 * CAP_BPF, so that --source auto goes on to netlink as it does there.
 * libbpf makes every bpf call through syscall(3); any other number is
 * passed to the real syscall with its six argument slots.
 */
#ifndef SHIM_DENY_BPF_H
#define SHIM_DENY_BPF_H

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

long syscall(long number, ...)
{
	static long (*real_syscall)(long, ...);
	long a[6];
	va_list ap;
	int i;

	if (number == SYS_bpf) {
		errno = EPERM;
		return -1;
	}
	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real_syscall) {
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
		if (!real_syscall) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#endif
