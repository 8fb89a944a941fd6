/* Helpers for the tests that run the sockaudit binary (see testlib.h). */
#include "testlib.h"

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source_bpf.h"

extern char **environ;

/*
 * ck_assert_msg without Check's bookkeeping on success: each passing
 * ck_assert records a checkpoint through the test's message channel,
 * which is slow in loops over hundreds of sockets (under ASan, slow
 * enough to hit the test timeout).
 */
#define REQUIRE(cond, ...)                       \
	do {                                     \
		if (!(cond))                     \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* ---- running commands ---- */

const char *auto_source(void)
{
	return bpf_load() == 0 ? "bpf" : "netlink";
}

long long test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append n bytes to a growing NUL-terminated buffer.  Returns 0 or -1. */
static int buf_append(char **buf, size_t *len, size_t *cap, const char *p,
		      size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 4096;
		char *nb;

		while (*len + n + 1 > ncap)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* The environment for the child: ours, minus the names env_extra sets,
 * plus env_extra.  NULL when out of memory. */
static char **make_env(const char *const env_extra[])
{
	size_t n = 0, m = 0, i, j, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (env_extra && env_extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++) {
		bool overridden = false;

		for (j = 0; j < m; j++) {
			const char *eq = strchr(env_extra[j], '=');
			size_t nl = eq ? (size_t)(eq - env_extra[j])
				       : strlen(env_extra[j]);

			if (!strncmp(environ[i], env_extra[j], nl) &&
			    environ[i][nl] == '=')
				overridden = true;
		}
		if (!overridden)
			env[k++] = environ[i];
	}
	for (j = 0; j < m; j++)
		env[k++] = (char *)env_extra[j];
	env[k] = NULL;
	return env;
}

int run_cmd(const char *const argv[], const char *const env_extra[],
	    int timeout_ms, struct run_result *r)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	size_t out_cap = 0, err_cap = 0;
	char **env;
	long long deadline;
	pid_t pid, self = getpid();
	int st, err = 0, open_pipes = 2;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (buf_append(&r->out, &r->out_len, &out_cap, "", 0) ||
	    buf_append(&r->err, &r->err_len, &err_cap, "", 0))
		return -ENOMEM;
	env = make_env(env_extra);
	if (!env)
		return -ENOMEM;
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/* Die with the test, whatever way it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(127);
		setpgid(0, 0);
		if (devnull < 0 || dup2(devnull, 0) < 0 ||
		    dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(127);
		/* The command must see only its own descriptors. */
		close_range(3, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);
		execvpe(argv[0], (char *const *)argv, env);
		dprintf(2, "run_cmd: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* both sides, to win the race */
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	deadline = test_now_ms() + timeout_ms;
	while (open_pipes > 0) {
		struct pollfd pf[2] = { { outp[0], POLLIN, 0 },
					{ errp[0], POLLIN, 0 } };
		long long left = deadline - test_now_ms();
		int i, n;

		if (left <= 0) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		n = poll(pf, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (i = 0; i < 2; i++) {
			char chunk[8192];
			ssize_t got;

			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			got = read(pf[i].fd, chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(pf[i].fd);
				if (i == 0)
					outp[0] = -1;
				else
					errp[0] = -1;
				open_pipes--;
				continue;
			}
			if (i == 0)
				buf_append(&r->out, &r->out_len, &out_cap,
					   chunk, (size_t)got);
			else
				buf_append(&r->err, &r->err_len, &err_cap,
					   chunk, (size_t)got);
		}
	}
	/* Output is complete; now the status.  A child that closed its
	 * output but does not exit is killed at the deadline too. */
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			err = -errno;
			goto out;
		}
		if (test_now_ms() >= deadline && !r->timed_out) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
		usleep(2000);
	}
	/* Reap whatever else the command left in its group. */
	kill(-pid, SIGKILL);
	if (WIFEXITED(st)) {
		r->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		r->signaled = WTERMSIG(st);
		r->status = 128 + r->signaled;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(env);
	return err;
}

void run_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

const char *sockaudit_path(void)
{
	const char *p = getenv("SOCKAUDIT");

	return p && *p ? p : "./sockaudit";
}

const char *test_env_dir(const char *name, const char *fallback)
{
	const char *p = getenv(name);

	return p && *p ? p : fallback;
}

/*
 * Take the warning that the kernel's socket dump kept changing out of
 * r->err, counting it in r->dump_changed.  It says the host changed its
 * sockets while they were read (other tests, a churner: see the man
 * page's CAVEATS); no scenario here asks for it or depends on it, and
 * the tests that count stderr lines count what the scenario causes.
 */
static void drop_busy_host_warning(struct run_result *r)
{
	static const char warning[] =
		"the kernel's socket dump kept changing while it was read";
	char *line = r->err, *to = r->err;

	while (line && *line) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);

		if (memmem(line, len, warning, sizeof(warning) - 1)) {
			r->dump_changed++;
		} else {
			memmove(to, line, len);
			to += len;
		}
		line += len;
	}
	if (to) {
		*to = '\0';
		r->err_len = (size_t)(to - r->err);
	}
}

void run_sockaudit_v(struct run_result *r, const char *const env_extra[],
		     const char *const args[])
{
	const char *argv[64];
	size_t n = 0;
	int rc;

	argv[n++] = sockaudit_path();
	while (args && args[n - 1]) {
		REQUIRE(n < 63, "too many arguments");
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	rc = run_cmd(argv, env_extra, RUN_TIMEOUT_MS, r);
	REQUIRE(rc == 0, "cannot run %s: %s", argv[0], strerror(-rc));
	REQUIRE(!r->timed_out, "%s timed out: %s", argv[0],
		      run_describe(r));
	REQUIRE(r->signaled == 0, "%s died of signal %d: %s", argv[0],
		      r->signaled, run_describe(r));
	drop_busy_host_warning(r);
}

void run_sockaudit(struct run_result *r, const char *const env_extra[], ...)
{
	const char *args[64];
	size_t n = 0;
	va_list ap;

	va_start(ap, env_extra);
	for (;;) {
		const char *a = va_arg(ap, const char *);

		REQUIRE(n < 63, "too many arguments");
		args[n++] = a;
		if (!a)
			break;
	}
	va_end(ap);
	run_sockaudit_v(r, env_extra, args);
}

const char *run_describe(const struct run_result *r)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "status %d%s; stderr: \"%.1500s\"; stdout (%zu bytes): \"%.1500s\"",
		 r->status, r->timed_out ? " (timed out)" : "",
		 r->err ? r->err : "", r->out_len, r->out ? r->out : "");
	return buf;
}

int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (*s == '\n' || !s[1])
			n++;
	return n;
}

bool all_lines_start_with(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);

	while (*s) {
		const char *nl = strchr(s, '\n');

		if (strncmp(s, prefix, pl))
			return false;
		if (!nl)
			break;
		s = nl + 1;
	}
	return true;
}

int count_lines_containing(const char *s, const char *needle)
{
	int n = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char *line = strndup(s, len);

		if (line && strcasestr(line, needle))
			n++;
		free(line);
		if (!nl)
			break;
		s = nl + 1;
	}
	return n;
}

/* After "<digits><word>" or "<digits><word>s" at p: the rest, or NULL. */
static const char *counted(const char *p, const char *word)
{
	size_t wl = strlen(word);

	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (strncmp(p, word, wl))
		return NULL;
	p += wl;
	return *p == 's' ? p + 1 : p;
}

/* Whether line starts "N socket(s) in M group(s): ". */
static bool is_totals_line(const char *line)
{
	const char *p = counted(line, " socket");

	if (!p || strncmp(p, " in ", 4))
		return false;
	p = counted(p + 4, " group");
	return p && !strncmp(p, ": ", 2);
}

int count_totals_lines(const char *s)
{
	int n = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');

		n += is_totals_line(s);
		if (!nl)
			break;
		s = nl + 1;
	}
	return n;
}

void run_sockaudit_as_nobody(struct run_result *r, const char *const *args)
{
	const char *argv[32] = { "setpriv", "--reuid=65534", "--regid=65534",
				 "--clear-groups", sockaudit_path() };
	int n = 5;

	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	REQUIRE(run_cmd(argv, NULL, RUN_TIMEOUT_MS, r) == 0, "setpriv could not be run");
	REQUIRE(!r->timed_out && !r->signaled, "%s", run_describe(r));
	REQUIRE(r->status != 126 && r->status != 127,
		"nobody cannot run %s (every directory above it must be "
		"searchable by others): %s", sockaudit_path(), run_describe(r));
}

/* ---- JSON ---- */

cJSON *json_report(const struct run_result *r)
{
	cJSON *doc = cJSON_ParseWithLength(r->out, r->out_len);

	REQUIRE(doc != NULL, "stdout is not JSON: %s", run_describe(r));
	REQUIRE(cJSON_IsObject(doc), "the report is not an object");
	REQUIRE(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "sockets")),
		      "the report has no \"sockets\" array");
	return doc;
}

static const cJSON *json_get(const cJSON *obj, const char *key)
{
	const cJSON *v;

	REQUIRE(obj != NULL, "no object to read \"%s\" from", key);
	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v) {
		char *s = cJSON_PrintUnformatted(obj);

		REQUIRE(0, "key \"%s\" missing in %.1500s", key, s ? s : "?");
		free(s);
	}
	return v;
}

long long json_int(const cJSON *obj, const char *key)
{
	const cJSON *v = json_get(obj, key);
	double d;

	REQUIRE(cJSON_IsNumber(v), "\"%s\" is not a number", key);
	d = cJSON_GetNumberValue(v);
	REQUIRE(d == (double)(long long)d, "\"%s\" is not whole: %g", key, d);
	return (long long)d;
}

bool json_is_null(const cJSON *obj, const char *key)
{
	return cJSON_IsNull(json_get(obj, key));
}

const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = json_get(obj, key);

	REQUIRE(cJSON_IsString(v), "\"%s\" is not a string", key);
	return v->valuestring;
}

cJSON *json_array(const cJSON *obj, const char *key)
{
	const cJSON *v = json_get(obj, key);

	REQUIRE(cJSON_IsArray(v), "\"%s\" is not an array", key);
	return (cJSON *)v;
}

cJSON *json_object(const cJSON *obj, const char *key)
{
	const cJSON *v = json_get(obj, key);

	REQUIRE(cJSON_IsObject(v), "\"%s\" is not an object", key);
	return (cJSON *)v;
}

cJSON *json_socket_by_inode(const cJSON *doc, unsigned long inode)
{
	cJSON *s;

	cJSON_ArrayForEach(s, json_array(doc, "sockets"))
		if (json_int(s, "inode") == (long long)inode)
			return s;
	return NULL;
}

int json_count_inode(const cJSON *doc, unsigned long inode)
{
	cJSON *s;
	int n = 0;

	cJSON_ArrayForEach(s, json_array(doc, "sockets"))
		if (json_int(s, "inode") == (long long)inode)
			n++;
	return n;
}

cJSON *json_socket_by_ports(const cJSON *doc, int lport, int rport)
{
	cJSON *s;

	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		if (json_is_null(s, "local_port") ||
		    json_int(s, "local_port") != lport)
			continue;
		if (rport >= 0 && (json_is_null(s, "remote_port") ||
				   json_int(s, "remote_port") != rport))
			continue;
		return s;
	}
	return NULL;
}

cJSON *json_socket_process(const cJSON *sock, pid_t pid)
{
	cJSON *p;

	cJSON_ArrayForEach(p, json_array(sock, "processes"))
		if (json_int(p, "pid") == pid)
			return p;
	return NULL;
}

bool json_has_flag(const cJSON *sock, const char *flag)
{
	cJSON *f;

	cJSON_ArrayForEach(f, json_array(sock, "flags"))
		if (cJSON_IsString(f) && !strcmp(f->valuestring, flag))
			return true;
	return false;
}

int json_flag_count(const cJSON *sock)
{
	return cJSON_GetArraySize(json_array(sock, "flags"));
}

cJSON *json_group_server(const cJSON *doc, int lport)
{
	cJSON *g;

	cJSON_ArrayForEach(g, json_array(doc, "groups"))
		if (!strcmp(json_str(g, "side"), "server") &&
		    json_int(g, "local_port") == lport)
			return g;
	return NULL;
}

cJSON *json_group_client(const cJSON *doc, const char *raddr, int rport)
{
	cJSON *g;

	cJSON_ArrayForEach(g, json_array(doc, "groups"))
		if (!strcmp(json_str(g, "side"), "client") &&
		    !strcmp(json_str(g, "remote_address"), raddr) &&
		    json_int(g, "remote_port") == rport)
			return g;
	return NULL;
}

cJSON *json_group_process(const cJSON *doc, pid_t pid)
{
	cJSON *g;

	cJSON_ArrayForEach(g, json_array(doc, "groups"))
		if (!strcmp(json_str(g, "side"), "process") &&
		    json_int(g, "pid") == pid)
			return g;
	return NULL;
}

cJSON *json_group_process_entry(const cJSON *group, pid_t pid)
{
	cJSON *p;

	cJSON_ArrayForEach(p, json_array(group, "processes"))
		if (json_int(p, "pid") == pid)
			return p;
	return NULL;
}

long long json_group_state(const cJSON *group, const char *state)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		json_object(group, "states"), state);

	if (!v)
		return 0;
	REQUIRE(cJSON_IsNumber(v), "states.%s is not a number", state);
	return (long long)cJSON_GetNumberValue(v);
}

static const char *const json_states[] = {
	"established", "syn_sent", "syn_recv", "fin_wait_1", "fin_wait_2",
	"time_wait", "close", "close_wait", "last_ack", "listen", "closing",
	"unconnected",
};

static bool known_state(const char *s)
{
	for (size_t i = 0; i < sizeof(json_states) / sizeof(json_states[0]); i++)
		if (!strcmp(s, json_states[i]))
			return true;
	return false;
}

static bool known_flag(const char *s)
{
	return !strcmp(s, "close_wait") || !strcmp(s, "idle") ||
	       !strcmp(s, "stalled") || !strcmp(s, "dead");
}

static const char *str_or_null(const cJSON *obj, const char *key)
{
	return json_is_null(obj, key) ? NULL : json_str(obj, key);
}

/* A number or null; returns -1 for null. */
static long long int_or_null(const cJSON *obj, const char *key)
{
	if (json_is_null(obj, key))
		return -1;
	return json_int(obj, key);
}

/* A socket as text, for failure messages only (static buffer). */
static const char *sock_text(const cJSON *s)
{
	static char buf[600];
	char *text = cJSON_PrintUnformatted(s);

	snprintf(buf, sizeof(buf), "%.560s", text ? text : "?");
	free(text);
	return buf;
}

/*
 * A UDP or UNIX socket as the contract's "Every socket kind" fixes it:
 * states unconnected, established (and listen for UNIX); a UDP socket
 * has its addresses and ports, a UNIX one its type, path, peer_inode,
 * peer_path and null addresses and ports; times null; queues numbers;
 * flags dropping (UDP, iff drops > 0) and peer_closed (UNIX: only a
 * connected stream or seqpacket socket).
 */
static void check_kind_shape(const cJSON *s, const char *proto)
{
	const char *family = json_str(s, "family");
	const char *state = json_str(s, "state");
	cJSON *p, *f;

	json_int(s, "inode");
	if (!strcmp(proto, "udp")) {
		json_int(s, "uid");
		json_int(s, "recv_q");
		json_int(s, "send_q");
	} else {
		/* /proc/net/unix has neither: null then, the queues together. */
		REQUIRE(int_or_null(s, "uid") >= -1, "bad uid in %s", sock_text(s));
		REQUIRE((int_or_null(s, "recv_q") == -1) == (int_or_null(s, "send_q") == -1),
			"queues partly null: %s", sock_text(s));
	}
	REQUIRE(json_is_null(s, "last_recv_ms") && json_is_null(s, "last_send_ms") &&
		json_is_null(s, "idle_ms"), "times for a %s socket: %s", proto, sock_text(s));
	cJSON_ArrayForEach(p, json_array(s, "processes")) {
		REQUIRE(json_int(p, "pid") > 0, "bad pid in %s", sock_text(s));
		REQUIRE(json_int(p, "fd") >= 0, "bad fd in %s", sock_text(s));
		json_str(p, "comm");
	}
	if (!strcmp(proto, "udp")) {
		REQUIRE(!strcmp(family, "inet") || !strcmp(family, "inet6"),
			"bad family in %s", sock_text(s));
		REQUIRE(!strcmp(state, "unconnected") || !strcmp(state, "established"),
			"bad UDP state in %s", sock_text(s));
		json_str(s, "local_address");
		json_str(s, "remote_address");
		REQUIRE(json_int(s, "local_port") >= 0 && json_int(s, "local_port") <= 65535 &&
			json_int(s, "remote_port") >= 0 && json_int(s, "remote_port") <= 65535,
			"bad port in %s", sock_text(s));
		cJSON_ArrayForEach(f, json_array(s, "flags"))
			REQUIRE(cJSON_IsString(f) && !strcmp(f->valuestring, "dropping"),
				"bad UDP flag in %s", sock_text(s));
		REQUIRE(json_has_flag(s, "dropping") == (json_int(s, "drops") > 0),
			"dropping flag disagrees with drops: %s", sock_text(s));
		return;
	}
	REQUIRE(!strcmp(proto, "unix") && !strcmp(family, "unix"), "bad protocol or family in %s",
		sock_text(s));
	REQUIRE(!strcmp(state, "unconnected") || !strcmp(state, "established") ||
		!strcmp(state, "listen"), "bad UNIX state in %s", sock_text(s));
	REQUIRE(!strcmp(json_str(s, "type"), "stream") || !strcmp(json_str(s, "type"), "dgram") ||
		!strcmp(json_str(s, "type"), "seqpacket"), "bad type in %s", sock_text(s));
	str_or_null(s, "path");
	str_or_null(s, "peer_path");
	REQUIRE(int_or_null(s, "peer_inode") >= -1, "bad peer_inode in %s", sock_text(s));
	REQUIRE(json_is_null(s, "local_address") && json_is_null(s, "local_port") &&
		json_is_null(s, "remote_address") && json_is_null(s, "remote_port"),
		"UNIX socket with addresses: %s", sock_text(s));
	cJSON_ArrayForEach(f, json_array(s, "flags"))
		REQUIRE(cJSON_IsString(f) && !strcmp(f->valuestring, "peer_closed"),
			"bad UNIX flag in %s", sock_text(s));
	if (json_has_flag(s, "peer_closed"))
		REQUIRE(!strcmp(state, "established") && strcmp(json_str(s, "type"), "dgram"),
			"peer_closed on a %s %s socket: %s", state, json_str(s, "type"),
			sock_text(s));
}

void json_check_socket_shape(const cJSON *s, long long thr)
{
	const cJSON *proto = cJSON_GetObjectItemCaseSensitive(s, "protocol");
	const char *family, *state;
	bool dead;
	long long lr, ls, idle, rq, lport, rport;
	cJSON *p, *f;
	int nflags = 0;

	if (cJSON_IsString(proto) && strcmp(proto->valuestring, "tcp")) {
		check_kind_shape(s, proto->valuestring);
		return;
	}
	family = json_str(s, "family");
	state = json_str(s, "state");
	dead = json_has_flag(s, "dead");

	REQUIRE(!strcmp(family, "inet") || !strcmp(family, "inet6"),
		      "bad family in %s", sock_text(s));
	REQUIRE(known_state(state), "bad state in %s", sock_text(s));
	json_int(s, "inode");
	REQUIRE(json_int(s, "uid") >= 0, "bad uid in %s", sock_text(s));

	lport = int_or_null(s, "local_port");
	REQUIRE(lport >= -1 && lport <= 65535, "bad local_port in %s", sock_text(s));
	if (!json_is_null(s, "local_address"))
		json_str(s, "local_address");
	rport = int_or_null(s, "remote_port");
	REQUIRE(rport >= -1 && rport <= 65535, "bad remote_port in %s", sock_text(s));

	cJSON_ArrayForEach(p, json_array(s, "processes")) {
		REQUIRE(json_int(p, "pid") > 0, "bad pid in %s", sock_text(s));
		REQUIRE(json_int(p, "fd") >= 0, "bad fd in %s", sock_text(s));
		json_str(p, "comm");
	}
	cJSON_ArrayForEach(f, json_array(s, "flags")) {
		REQUIRE(cJSON_IsString(f) && known_flag(f->valuestring),
			      "unknown flag in %s", sock_text(s));
		nflags++;
	}
	REQUIRE(nflags == json_flag_count(s), "flag count");

	lr = int_or_null(s, "last_recv_ms");
	ls = int_or_null(s, "last_send_ms");
	idle = int_or_null(s, "idle_ms");

	if (dead) {
		/* Contract: state close; remote address and port, queues and
		 * times null.  Its port was released: local ones null, the
		 * last ones a port or null. */
		REQUIRE(!strcmp(state, "close"), "dead but not close: %s", sock_text(s));
		REQUIRE(json_is_null(s, "local_address") && lport == -1,
			"dead with a local end held: %s", sock_text(s));
		lport = int_or_null(s, "last_local_port");
		REQUIRE(lport >= -1 && lport <= 65535, "bad last_local_port in %s",
			sock_text(s));
		REQUIRE(json_is_null(s, "remote_address") && rport == -1,
			      "dead with a remote end: %s", sock_text(s));
		REQUIRE(json_is_null(s, "recv_q") && json_is_null(s, "send_q"),
			      "dead with queues: %s", sock_text(s));
		REQUIRE(lr == -1 && ls == -1 && idle == -1,
			      "dead with times: %s", sock_text(s));
		REQUIRE(cJSON_GetArraySize(json_array(s, "processes")) > 0,
			      "dead socket without an owner: %s", sock_text(s));
		REQUIRE(!json_has_flag(s, "idle") && !json_has_flag(s, "stalled") &&
			      !json_has_flag(s, "close_wait"),
			      "dead with other flags: %s", sock_text(s));
		return;
	}
	/* A dumped socket has both ends and its queues. */
	json_str(s, "local_address");
	json_str(s, "remote_address");
	REQUIRE(lport >= 0 && rport >= 0, "missing port in %s", sock_text(s));
	rq = json_int(s, "recv_q");
	json_int(s, "send_q");

	/* The three times are null together; idle_ms is the smaller one. */
	REQUIRE((lr == -1) == (ls == -1) && (lr == -1) == (idle == -1),
		      "times partly null: %s", sock_text(s));
	if (idle != -1)
		REQUIRE(idle == (lr < ls ? lr : ls),
			      "idle_ms is not min(last_recv_ms, last_send_ms): %s", sock_text(s));
	if (!strcmp(state, "listen") || !strcmp(state, "time_wait"))
		REQUIRE(lr == -1, "times for a %s socket: %s", state, sock_text(s));
	if (!strcmp(state, "listen"))
		REQUIRE(rport == 0 && (!strcmp(json_str(s, "remote_address"), "0.0.0.0") ||
					     !strcmp(json_str(s, "remote_address"), "::")),
			      "listener's remote end is not the wildcard: %s", sock_text(s));

	/* Flags agree with the values they are computed from. */
	REQUIRE(json_has_flag(s, "close_wait") == !strcmp(state, "close_wait"),
		      "close_wait flag disagrees with state: %s", sock_text(s));
	REQUIRE(json_has_flag(s, "idle") ==
			      (!strcmp(state, "established") && lr >= thr && ls >= thr &&
			       lr != -1),
		      "idle flag disagrees with times (threshold %lld ms): %s", thr, sock_text(s));
	REQUIRE(json_has_flag(s, "stalled") ==
			      (lr != -1 && lr >= thr &&
			       ((!strcmp(state, "established") && rq > 0) ||
				(!strcmp(state, "close_wait") && rq > 1))),
		      "stalled flag disagrees with recv_q/times (threshold %lld ms): %s",
		      thr, sock_text(s));
}

static const char *const count_keys[] = { "close_wait", "idle", "stalled", "dead",
					   "peer_closed", "dropping" };
#define NCOUNT_KEYS (sizeof(count_keys) / sizeof(count_keys[0]))

void json_check_report_shape(const cJSON *doc)
{
	const char *source = json_str(doc, "source");
	cJSON *totals = json_object(doc, "totals");
	cJSON *s, *g, *assertion;
	long long thr = json_int(doc, "idle_threshold_ms");
	long long nsocks = 0, counts[NCOUNT_KEYS] = { 0 }, gsocks = 0,
		  gcounts[NCOUNT_KEYS] = { 0 };

	REQUIRE(json_int(doc, "schema") == 1, "schema is not 1");
	REQUIRE(!strcmp(source, "netlink") || !strcmp(source, "proc") ||
		!strcmp(source, "bpf"),
		      "bad source \"%s\"", source);
	cJSON_ArrayForEach(s, json_array(doc, "sockets")) {
		json_check_socket_shape(s, thr);
		if (!strcmp(source, "proc"))
			REQUIRE(json_is_null(s, "idle_ms") &&
				      !json_has_flag(s, "idle") &&
				      !json_has_flag(s, "stalled"),
				      "tcp_info values with the proc source");
		nsocks++;
		for (size_t i = 0; i < NCOUNT_KEYS; i++)
			counts[i] += json_has_flag(s, count_keys[i]);
	}
	REQUIRE(json_int(totals, "sockets") == nsocks, "totals.sockets = %lld, %lld sockets listed",
		json_int(totals, "sockets"), nsocks);
	for (size_t i = 0; i < NCOUNT_KEYS; i++)
		REQUIRE(json_int(totals, count_keys[i]) == counts[i],
			      "totals.%s = %lld, but %lld sockets carry the flag",
			      count_keys[i], json_int(totals, count_keys[i]), counts[i]);

	cJSON_ArrayForEach(g, json_array(doc, "groups")) {
		const char *side = json_str(g, "side");
		long long n = json_int(g, "sockets"), sum = 0;
		cJSON *st;

		const cJSON *gp = cJSON_GetObjectItemCaseSensitive(g, "protocol");

		if (cJSON_IsString(gp) && !strcmp(gp->valuestring, "unix") &&
		    strcmp(side, "process"))
			json_str(g, "path");
		else if (!strcmp(side, "server"))
			/* An unbound UDP socket's port is 0. */
			REQUIRE(json_int(g, "local_port") > 0 ||
				(json_int(g, "local_port") == 0 && cJSON_IsString(gp) &&
				 !strcmp(gp->valuestring, "udp")), "bad group local_port");
		else if (!strcmp(side, "client"))
			json_str(g, "remote_address"), json_int(g, "remote_port");
		else if (!strcmp(side, "process"))
			/* Unbound UNIX sockets no process holds: pid null. */
			REQUIRE((cJSON_IsString(gp) && !strcmp(gp->valuestring, "unix") &&
				 json_is_null(g, "pid")) || json_int(g, "pid") > 0,
				"bad group pid");
		else
			REQUIRE(0, "bad group side \"%s\"", side);
		cJSON_ArrayForEach(st, json_object(g, "states")) {
			REQUIRE(known_state(st->string), "bad state key %s", st->string);
			sum += (long long)cJSON_GetNumberValue(st);
		}
		REQUIRE(sum == n, "group states add up to %lld, not %lld", sum, n);
		cJSON_ArrayForEach(st, json_array(g, "processes")) {
			REQUIRE(json_int(st, "pid") > 0, "bad group process pid");
			json_str(st, "comm");
		}
		gsocks += n;
		for (size_t i = 0; i < NCOUNT_KEYS; i++)
			gcounts[i] += json_int(g, count_keys[i]);
	}
	REQUIRE(gsocks == nsocks, "groups hold %lld sockets, the report %lld",
		      gsocks, nsocks);
	for (size_t i = 0; i < NCOUNT_KEYS; i++)
		REQUIRE(gcounts[i] == counts[i], "groups' %s add up to %lld, not %lld",
			      count_keys[i], gcounts[i], counts[i]);

	assertion = cJSON_GetObjectItemCaseSensitive(doc, "assertion");
	if (assertion) {
		long long max = json_int(assertion, "max");
		long long sel = json_int(assertion, "selected");
		const cJSON *ok = json_get(assertion, "ok");

		REQUIRE(sel == nsocks, "assertion.selected = %lld, %lld sockets listed", sel, nsocks);
		REQUIRE(cJSON_IsBool(ok), "assertion.ok is not a boolean");
		REQUIRE(cJSON_IsTrue(ok) == (sel <= max), "assertion.ok is wrong");
	}
}

/* ---- ss oracle ---- */

static const struct {
	const char *ss, *json;
} ss_states[] = {
	{ "ESTAB", "established" },	  { "SYN-SENT", "syn_sent" },
	{ "SYN-RECV", "syn_recv" },	  { "FIN-WAIT-1", "fin_wait_1" },
	{ "FIN-WAIT-2", "fin_wait_2" },	  { "TIME-WAIT", "time_wait" },
	{ "UNCONN", "close" },		  { "CLOSE", "close" },
	{ "CLOSE-WAIT", "close_wait" },	  { "LAST-ACK", "last_ack" },
	{ "LISTEN", "listen" },		  { "CLOSING", "closing" },
};

const char *ss_state_to_json(const char *ss_state)
{
	for (size_t i = 0; i < sizeof(ss_states) / sizeof(ss_states[0]); i++)
		if (!strcmp(ss_state, ss_states[i].ss))
			return ss_states[i].json;
	return NULL;
}

/* Split "addr:port" as ss prints it ("[::1]:80", "127.0.0.1%lo:80",
 * "0.0.0.0:*", "*:80").  Returns 0 or -1. */
static int ss_split_endpoint(const char *tok, char *addr, size_t alen, int *port)
{
	const char *colon = strrchr(tok, ':');
	size_t n;
	char *pct;

	if (!colon || colon == tok)
		return -1;
	if (!strcmp(colon + 1, "*")) {
		*port = 0;
	} else {
		char *end;
		long v = strtol(colon + 1, &end, 10);

		if (*end || v < 0 || v > 65535)
			return -1;
		*port = (int)v;
	}
	n = (size_t)(colon - tok);
	if (tok[0] == '[' && n >= 2 && tok[n - 1] == ']') {
		tok++;
		n -= 2;
	}
	if (n >= alen)
		return -1;
	memcpy(addr, tok, n);
	addr[n] = '\0';
	pct = strchr(addr, '%');
	if (pct)
		*pct = '\0';
	return 0;
}

/* Parse `users:(("comm",pid=1,fd=3),("comm",pid=2,fd=3))` starting at p. */
static void ss_parse_users(const char *p, struct ss_entry *e)
{
	const char *end = strstr(p, "))");

	if (!end)
		end = p + strlen(p);
	while (e->nusers < SS_MAX_USERS) {
		const char *q = strstr(p, "(\""), *cq, *pid, *fd;

		if (!q || q >= end)
			break;
		q += 2;
		/* comm is quoted; ss does not escape, so find the '",pid=' */
		cq = strstr(q, "\",pid=");
		if (!cq)
			break;
		snprintf(e->comms[e->nusers], sizeof(e->comms[0]), "%.*s",
			 (int)(cq - q), q);
		pid = cq + 6;
		fd = strstr(pid, "fd=");
		if (!fd)
			break;
		e->pids[e->nusers] = (pid_t)strtol(pid, NULL, 10);
		e->fds[e->nusers] = (int)strtol(fd + 3, NULL, 10);
		e->nusers++;
		p = fd;
		if (!strchr(p, ')'))
			break;
		p = strchr(p, ')') + 1;
		if (p > end)
			break;
	}
}

int ss_parse_line(const char *line, struct ss_entry *e)
{
	char st[32], rq[32], sq[32], local[128], peer[128];
	const char *json, *p;
	int n = 0;

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%31s %31s %31s %127s %127s%n", st, rq, sq, local, peer, &n) != 5)
		return -1;
	json = ss_state_to_json(st);
	if (!json)
		return -1;
	snprintf(e->state, sizeof(e->state), "%s", json);
	e->recv_q = strtoul(rq, NULL, 10);
	e->send_q = strtoul(sq, NULL, 10);
	if (ss_split_endpoint(local, e->laddr, sizeof(e->laddr), &e->lport) ||
	    ss_split_endpoint(peer, e->raddr, sizeof(e->raddr), &e->rport))
		return -1;
	/* ss prints an IPv6 wildcard of a socket that is not v6-only as
	 * '*' (the peer of a dual-stack listener: "*:*"). */
	if (!strcmp(e->laddr, "*"))
		snprintf(e->laddr, sizeof(e->laddr), "::");
	if (!strcmp(e->raddr, "*"))
		snprintf(e->raddr, sizeof(e->raddr), "%s",
			 strchr(e->laddr, ':') ? "::" : "0.0.0.0");
	p = line + n;
	if ((p = strstr(line + n, "users:(")))
		ss_parse_users(p + 7, e);
	/* After the users list (a comm could contain anything). */
	p = e->nusers ? strstr(line + n, "))") : line + n;
	if (!p)
		p = line + n;
	{
		const char *ino = strstr(p, " ino:");
		const char *uid = strstr(p, " uid:");

		if (ino)
			e->inode = strtoul(ino + 5, NULL, 10);
		if (uid)
			e->uid = strtoul(uid + 5, NULL, 10);
	}
	return 0;
}

int ss_run(const char *const argv[], struct ss_entry **out)
{
	struct run_result r;
	struct ss_entry *v = NULL;
	size_t cap = 0, cnt = 0;
	char *line, *save = NULL;

	*out = NULL;
	if (run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r) || r.status != 0) {
		run_result_free(&r);
		return -1;
	}
	for (line = strtok_r(r.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct ss_entry e;

		if (ss_parse_line(line, &e))
			continue;
		if (cnt == cap) {
			struct ss_entry *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				run_result_free(&r);
				return -1;
			}
			v = nv;
		}
		v[cnt++] = e;
	}
	run_result_free(&r);
	*out = v;
	return (int)cnt;
}

int ss_dump(const char *const extra[], struct ss_entry **out)
{
	const char *argv[32] = { "ss", "-tanpeH" };
	size_t n = 2;

	while (extra && *extra && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	return ss_run(argv, out);
}
