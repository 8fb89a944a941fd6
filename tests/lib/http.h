/*
 * For the exporter tests: a minimal HTTP/1.1 client over plain sockets
 * (raw requests, so malformed and oversized ones can be sent too), and
 * background processes (an exporter, a helper, a prometheus server)
 * started in their own process group and stopped by PID.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_resp {
	int status;	 /* 0 when no status line came back */
	char *head;	 /* status line and headers, NUL-terminated */
	char *body;	 /* NUL-terminated */
	size_t body_len;
	bool closed;	 /* the server closed the connection */
};

/*
 * Send `len` bytes of `req` to host:port (numeric IPv4 or IPv6) and read
 * one response: up to Content-Length, or until the server closes.  The
 * server may close while the request is still being sent (an oversized
 * one): what it answered is read all the same.  Returns 0 when a
 * response or a close was read, -errno when the connection failed or
 * -ETIMEDOUT after timeout_ms; *r must be freed with http_free.
 */
int http_raw(const char *host, int port, const char *req, size_t len,
	     int timeout_ms, struct http_resp *r);
/* "METHOD path HTTP/1.1" with Host and Connection: close. */
int http_request(const char *host, int port, const char *method,
		 const char *path, int timeout_ms, struct http_resp *r);
void http_free(struct http_resp *r);
/* A header's value (case-insensitive name) into buf, or NULL. */
const char *http_header(const struct http_resp *r, const char *name,
			char *buf, size_t len);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int free_port(void);

/* Whether something accepts connections on host:port. */
bool port_open(const char *host, int port);

/* ---- background processes ---- */

struct bg_proc {
	pid_t pid;	  /* leader of its own process group; 0: none */
	int out;	  /* read end of its stdout, or -1 */
	int err;	  /* its stderr: an unlinked temp file, to read */
	int status;	  /* after bg_stop: exit status, 128 + signal */
};

/*
 * Start argv (argv[0] searched in PATH) in its own process group, stdin
 * from /dev/null, stdout into a pipe (read with bg_read_line) when
 * want_out, else /dev/null, stderr into a temp file.  It is killed
 * (SIGKILL, whole group) by bg_cleanup_all, at exit at the latest, and
 * dies with the test process (PR_SET_PDEATHSIG) if that ends first.
 * Returns 0 or -errno.
 */
int bg_start(struct bg_proc *p, const char *const argv[], bool want_out);
/* One line of its stdout without the newline; -ETIMEDOUT, -EPIPE at EOF. */
int bg_read_line(struct bg_proc *p, char *buf, size_t len, int timeout_ms);
/* Whether it has exited (reaped then, status set). */
bool bg_exited(struct bg_proc *p);
/*
 * Send sig to the process (not the group) and wait up to timeout_ms for
 * it to exit; then SIGKILL its group.  Returns its status (exit code or
 * 128 + signal), or -1 when it had to be killed.
 */
int bg_stop(struct bg_proc *p, int sig, int timeout_ms);
/* Its stderr so far (malloc'd, NUL-terminated). */
char *bg_stderr(const struct bg_proc *p);
/* Close what is left of a stopped process (its stderr file). */
void bg_free(struct bg_proc *p);
/* Kill every process still running from bg_start (a Check teardown). */
void bg_cleanup_all(void);

#endif
