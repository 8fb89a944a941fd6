/* A minimal HTTP client and background processes (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sockaddr_of(const char *host, int port, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

/* Wait for fd to be ready for `events` until `deadline`. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = { fd, events, 0 };
		long long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Whether the head so far is complete, and the body length it announces
 * (-1: none, read to the close). */
static bool head_done(const char *buf, size_t len, size_t *head_len,
		      long *content_length)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *p;

	if (!end)
		return false;
	*head_len = (size_t)(end - buf) + 4;
	*content_length = -1;
	for (p = buf; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
		if (*p == '\n')
			p++;
		if (!strncasecmp(p, "Content-Length:", 15)) {
			*content_length = strtol(p + 15, NULL, 10);
			break;
		}
	}
	return true;
}

int http_raw(const char *host, int port, const char *req, size_t len,
	     int timeout_ms, struct http_resp *r)
{
	long long deadline = now_ms() + timeout_ms;
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t sent = 0, got = 0, cap = 8192, head_len = 0;
	long clen = -1;
	bool have_head = false;
	char *buf;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	if (sockaddr_of(host, port, &ss, &sl))
		return -EINVAL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		rc = -errno;
		close(fd);
		return rc;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN | (sent < len ? POLLOUT : 0), 0 };
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if ((pfd.revents & POLLOUT) && sent < len) {
			n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = len; /* closed on us: read what it said */
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (got + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			/* A reset after the answer still leaves the answer. */
			if (n < 0 && !got && errno != ECONNRESET) {
				rc = -errno;
				break;
			}
			r->closed = true;
			rc = 0;
			break;
		}
		got += (size_t)n;
		if (!have_head)
			have_head = head_done(buf, got, &head_len, &clen);
		if (have_head && clen >= 0 && got >= head_len + (size_t)clen) {
			rc = 0;
			break;
		}
	}
	close(fd);
	buf[got] = '\0';
	if (!have_head)
		have_head = head_done(buf, got, &head_len, &clen);
	if (!have_head)
		head_len = got;
	r->head = strndup(buf, head_len);
	r->body_len = got - head_len;
	r->body = malloc(r->body_len + 1);
	if (r->body) {
		memcpy(r->body, buf + head_len, r->body_len);
		r->body[r->body_len] = '\0';
	}
	free(buf);
	if (r->head && !strncmp(r->head, "HTTP/1.", 7) && strlen(r->head) > 12)
		r->status = atoi(r->head + 9);
	if (!r->head || !r->body)
		return -ENOMEM;
	return rc;
}

int http_request(const char *host, int port, const char *method,
		 const char *path, int timeout_ms, struct http_resp *r)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n",
			 method, path, host, port);

	return http_raw(host, port, req, (size_t)n, timeout_ms, r);
}

void http_free(struct http_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *http_header(const struct http_resp *r, const char *name, char *buf,
			size_t len)
{
	size_t nl = strlen(name);
	const char *p;

	for (p = r->head ? strchr(r->head, '\n') : NULL; p; p = strchr(p, '\n')) {
		const char *v, *e;

		p++;
		if (strncasecmp(p, name, nl) || p[nl] != ':')
			continue;
		v = p + nl + 1;
		while (*v == ' ')
			v++;
		e = strpbrk(v, "\r\n");
		if (!e)
			e = v + strlen(v);
		snprintf(buf, len, "%.*s", (int)(e - v), v);
		return buf;
	}
	return NULL;
}

int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

bool port_open(const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;
	bool ok;

	if (sockaddr_of(host, port, &ss, &sl))
		return false;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&ss, sl) == 0;
	close(fd);
	return ok;
}

/* ---- background processes ---- */

#define BG_MAX 16
static pid_t bg_running[BG_MAX];
static bool bg_atexit;

static void bg_forget(pid_t pid)
{
	for (int i = 0; i < BG_MAX; i++)
		if (bg_running[i] == pid)
			bg_running[i] = 0;
}

void bg_cleanup_all(void)
{
	for (int i = 0; i < BG_MAX; i++) {
		if (bg_running[i] > 0) {
			kill(-bg_running[i], SIGKILL);
			waitpid(bg_running[i], NULL, 0);
		}
		bg_running[i] = 0;
	}
}

int bg_start(struct bg_proc *p, const char *const argv[], bool want_out)
{
	int pipefd[2] = { -1, -1 }, errfd, slot = -1;
	char path[] = "/tmp/sockaudit-bg-XXXXXX";
	pid_t pid, parent = getpid();

	memset(p, 0, sizeof(*p));
	p->out = -1;
	p->err = -1;
	for (int i = 0; i < BG_MAX && slot < 0; i++)
		if (!bg_running[i])
			slot = i;
	if (slot < 0)
		return -EMFILE;
	if (!bg_atexit) {
		atexit(bg_cleanup_all);
		bg_atexit = true;
	}
	errfd = mkostemp(path, O_CLOEXEC);
	if (errfd < 0)
		return -errno;
	p->err = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	if (p->err < 0 || (want_out && pipe2(pipefd, O_CLOEXEC) < 0)) {
		int rc = -errno;

		close(errfd);
		bg_free(p);
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(errfd);
		bg_free(p);
		if (want_out) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return rc;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* Dies with the test, even one that failed halfway. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0);
		dup2(null, 0);
		dup2(want_out ? pipefd[1] : null, 1);
		dup2(errfd, 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(errfd);
	if (want_out) {
		close(pipefd[1]);
		p->out = pipefd[0];
	}
	p->pid = pid;
	bg_running[slot] = pid;
	return 0;
}

int bg_read_line(struct bg_proc *p, char *buf, size_t len, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t n = 0;

	/* Byte by byte: the rest of the output stays in the pipe. */
	while (n + 1 < len) {
		ssize_t k;
		int rc = wait_fd(p->out, POLLIN, deadline);

		if (rc)
			return rc;
		k = read(p->out, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EPIPE;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static int decode_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	return 128 + WTERMSIG(ws);
}

bool bg_exited(struct bg_proc *p)
{
	int ws;

	if (p->pid <= 0)
		return true;
	if (waitpid(p->pid, &ws, WNOHANG) != p->pid)
		return false;
	p->status = decode_status(ws);
	kill(-p->pid, SIGKILL); /* what it left in its group */
	bg_forget(p->pid);
	p->pid = 0;
	return true;
}

int bg_stop(struct bg_proc *p, int sig, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int ws;

	if (p->pid <= 0)
		return p->status;
	kill(p->pid, sig);
	while (now_ms() < deadline) {
		if (waitpid(p->pid, &ws, WNOHANG) == p->pid) {
			p->status = decode_status(ws);
			kill(-p->pid, SIGKILL);
			bg_forget(p->pid);
			p->pid = 0;
			if (p->out >= 0)
				close(p->out);
			p->out = -1;
			return p->status;
		}
		usleep(10000);
	}
	kill(-p->pid, SIGKILL);
	waitpid(p->pid, &ws, 0);
	bg_forget(p->pid);
	p->pid = 0;
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	p->status = -1;
	return -1;
}

char *bg_stderr(const struct bg_proc *p)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	while (p->err >= 0 && n + 1 < cap) {
		ssize_t k = pread(p->err, buf + n, cap - 1 - n, (off_t)n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	return buf;
}

void bg_free(struct bg_proc *p)
{
	if (p->err >= 0)
		close(p->err);
	if (p->out >= 0)
		close(p->out);
	p->err = -1;
	p->out = -1;
}
