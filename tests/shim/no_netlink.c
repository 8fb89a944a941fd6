/*
 * LD_PRELOAD shim: sock_diag is not available.  socket(AF_NETLINK, *,
 * NETLINK_SOCK_DIAG) fails with EACCES, as under a seccomp or LSM policy
 * that denies it; every other socket is created by the real socket().
 * BPF is denied too (deny_bpf.h): --source auto would not reach netlink.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "deny_bpf.h"

int socket(int domain, int type, int protocol)
{
	static int (*real_socket)(int, int, int);

	if (domain == AF_NETLINK && protocol == NETLINK_SOCK_DIAG) {
		errno = EACCES;
		return -1;
	}
	if (!real_socket) {
		real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
		if (!real_socket) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real_socket(domain, type, protocol);
}
