/*
 * Diagnostics: every line on stderr starts with "sockaudit: ".  A kind
 * of warning that could repeat (each sample of --watch, each scrape)
 * is printed once per run with diag_warn_once.
 */
#ifndef DIAG_H
#define DIAG_H

enum diag_kind {
	DIAG_INCONSISTENT,	/* the kernel's dump kept changing */
	DIAG_FALLBACK,		/* netlink failed, /proc used */
	DIAG_NO_TCPINFO,	/* --source proc: no times */
	DIAG_MALFORMED,		/* malformed /proc/net/tcp lines */
	DIAG_DENIED,		/* fd tables not readable */
	DIAG_RECHECK,		/* second dump for dead sockets failed */
	DIAG_NETNS,		/* --all-netns: namespaces not entered */
	DIAG_NETNS_UNREADABLE,	/* --all-netns: processes' ns/net unreadable */
	DIAG_NETNS_PID,		/* --pid: its ns/net unreadable */
	DIAG_WORKLOAD_STATE,	/* container runtime state unreadable */
	DIAG_UNIX_PROC,		/* /proc/net/unix: no peers, no shutdown */
	DIAG_KIND_COUNT
};

void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As diag_warn, but only the first time for this kind. Thread-safe. */
void diag_warn_once(enum diag_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
