/*
 * --web-config: the exporter toolkit's web configuration file (TLS,
 * client certificates, bcrypt basic authentication).
 *
 * Certificates are made here with openssl (a CA, a server certificate
 * for 127.0.0.1 and a client certificate signed by it, and an unrelated
 * self-signed pair), bcrypt hashes with htpasswd (apache2-utils); the
 * clients are curl, openssl s_client, raw sockets (tests/lib/http.c)
 * and a real Prometheus (tests/lib/promserver.c).  Without openssl,
 * htpasswd or curl the tests say SKIP on stderr.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/exptest.h"
#include "lib/http.h"
#include "lib/promserver.h"
#include "lib/scenario.h"
#include "lib/testlib.h"
#include "webconfig_auth.h"
#include "webconfig_files.h"
#include "lib/runsuite.h"

/* Under valgrind everything is slower: waits are generous. */
#define STOP_MS 20000
#define CURL_S "20"

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The directory with the certificates, made once per test case. */
static char dir[] = "/tmp/sockaudit-webconfig-XXXXXX";
static bool have_tools;
/* htpasswd -nbB hashes: alice's password is "secret", bob's "other". */
static char alice_hash[128], bob_hash[128];

/* ---- set-up ---- */

static const char make_certs[] =
	"set -e; cd \"$1\"\n"
	"ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
	"openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=sockaudit-test-ca\n"
	"openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1\n"
	"printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n"
	"extendedKeyUsage=serverAuth\\n' >server.ext\n"
	"openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	"-out server.crt -days 2 -extfile server.ext\n"
	"openssl req $ec -keyout client.key -out client.csr -subj /CN=prometheus\n"
	"printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=clientAuth\\n' >client.ext\n"
	"openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	"-out client.crt -days 2 -extfile client.ext\n"
	"openssl req -x509 $ec -keyout other.key -out other.crt -days 2 -subj /CN=other\n"
	"echo 'not a certificate' >garbage.pem\n"
	": >empty.pem\n";

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return true;
		path = colon ? colon + 1 : NULL;
	}
	return false;
}

/* The hash htpasswd -nbB makes for user and password, into out. */
static void bcrypt_hash(const char *user, const char *password, const char *cost,
			char *out, size_t len)
{
	const char *argv[] = { "htpasswd", "-nbBC", cost, user, password, NULL };
	struct run_result r;
	char *colon, *nl;

	ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
	ck_assert_msg(r.status == 0, "htpasswd: %s", r.err);
	colon = strchr(r.out, ':');
	ck_assert_ptr_nonnull(colon);
	nl = strchr(colon, '\n');
	if (nl)
		*nl = '\0';
	snprintf(out, len, "%s", colon + 1);
	run_result_free(&r);
}

/* Unchecked fixture: the certificates and hashes, once per test case. */
static void setup(void)
{
	const char *argv[] = { "sh", "-c", make_certs, "sh", dir, NULL };
	struct run_result r;

	have_tools = in_path("openssl") && in_path("htpasswd") && in_path("curl");
	if (!have_tools)
		return;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(run_cmd(argv, NULL, 60000, &r), 0);
	ck_assert_msg(r.status == 0, "making certificates: %s", r.err);
	run_result_free(&r);
	bcrypt_hash("alice", "secret", "5", alice_hash, sizeof(alice_hash));
	bcrypt_hash("bob", "other", "5", bob_hash, sizeof(bob_hash));
}

static void teardown_dir(void)
{
	const char *argv[] = { "rm", "-rf", "--", dir, NULL };
	struct run_result r;

	if (strstr(dir, "XXXXXX"))
		return;
	run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r);
	run_result_free(&r);
	strcpy(dir + strlen(dir) - 6, "XXXXXX");
}

static void teardown(void)
{
	bg_cleanup_all();
}

static bool skip(const char *test)
{
	if (!have_tools)
		fprintf(stderr, "SKIP %s: openssl, htpasswd (apache2-utils) or curl "
			"missing (scripts/deps.sh installs them)\n", test);
	return !have_tools;
}

/* Write text to dir/name; the path into path. */
static void write_file(const char *name, const char *text, char *path, size_t len)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* A web config: TLS with the server certificate, client_auth_type
 * (NULL: none), and users ("alice" and/or "bob"). */
static void web_config(const char *name, const char *client_auth, bool alice, bool bob,
		       char *path, size_t len)
{
	char text[2048];
	int n;

	n = snprintf(text, sizeof(text),
		     "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
	if (client_auth)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "  client_auth_type: %s\n  client_ca_file: ca.crt\n", client_auth);
	if (alice || bob)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "basic_auth_users:\n");
	if (alice)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "  alice: %s\n", alice_hash);
	if (bob)
		snprintf(text + n, sizeof(text) - (size_t)n, "  bob: '%s'\n", bob_hash);
	write_file(name, text, path, len);
}

/* For exporter_start when set: "LD_PRELOAD=shim" and the ASAN_OPTIONS a
 * preload needs under ASan (its runtime must come first). */
static char preload[PATH_MAX + 16], asan_options[256];

/* `sockaudit --listen 127.0.0.1:PORT --web-config CFG --pid SELF
 * --source netlink` on a free port, up when it accepts TCP connections.
 * (An audit of this process only, without loading BPF programs: fast on
 * a busy host; the audit is not what these tests are about.) */
static void exporter_start(struct bg_proc *p, int *port, const char *cfg)
{
	char self[16];
	const char *pre[] = { "env", preload, asan_options, NULL };
	const char *extra[] = { "--web-config", cfg, "--pid", self, "--source", "netlink", NULL };

	snprintf(self, sizeof(self), "%d", (int)getpid());
	exptest_start(p, port, preload[0] ? pre : NULL, extra);
}

static void exporter_stop_ok(struct bg_proc *p)
{
	int status = bg_stop(p, SIGTERM, STOP_MS);
	char *err = bg_stderr(p);

	ck_assert_msg(status == 0, "exporter: status %d; stderr: %s", status, err);
	free(err);
	bg_free(p);
}

/*
 * curl https://127.0.0.1:PORT/PATH with the CA and the extra arguments
 * (NULL-terminated): the HTTP status (0 when there was none: a failed
 * handshake), the headers in *head when given (malloc'd), the body's
 * first bytes in body.
 */
static int curl_get(int port, const char *path, const char *const extra[], char **head,
		    char *body, size_t bodylen)
{
	char url[128], ca[PATH_MAX], hfile[PATH_MAX], bfile[PATH_MAX];
	const char *argv[32] = { "curl", "-sS", "--max-time", CURL_S, "--cacert", ca,
				 "-D", hfile, "-o", bfile, "-w", "%{http_code}", url };
	struct run_result r;
	int n = 13, status;
	FILE *f;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(hfile, sizeof(hfile), "%s/curl.head", dir);
	snprintf(bfile, sizeof(bfile), "%s/curl.body", dir);
	unlink(hfile);
	unlink(bfile);
	while (extra && *extra && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	ck_assert_int_eq(run_cmd(argv, NULL, 60000, &r), 0);
	status = atoi(r.out);
	run_result_free(&r);
	if (head) {
		struct run_result c;
		const char *cat[] = { "cat", hfile, NULL };

		run_cmd(cat, NULL, RUN_TIMEOUT_MS, &c);
		*head = strdup(c.out);
		run_result_free(&c);
	}
	if (body && bodylen) {
		body[0] = '\0';
		f = fopen(bfile, "r");
		if (f) {
			size_t got = fread(body, 1, bodylen - 1, f);

			body[got] = '\0';
			fclose(f);
		}
	}
	return status;
}

/* ---- every invalid web config: one row each ---- */

struct bad_row {
	const char *name;
	const char *yaml; /* @HASH@: alice's hash; NULL: the file is missing */
	int status;
	const char *want; /* in the one stderr line */
};

static const struct bad_row bad_rows[] = {
	{ "missing file", NULL, 3, "No such file or directory" },
	{ "YAML syntax", "tls_server_config:\n  cert_file: [a\n", 2, "line " },
	{ "tabs", "tls_server_config:\n\tcert_file: a\n", 2, "line 2" },
	{ "not a mapping", "- a\n- b\n", 2, "expected a mapping" },
	{ "unknown top-level key", "tls_config:\n  cert_file: a\n", 2,
	  "line 1: unknown key 'tls_config'" },
	{ "unknown TLS key", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  certfile: x\n", 2,
	  "line 4: tls_server_config: unknown key 'certfile'" },
	{ "duplicate key", "tls_server_config:\n  cert_file: server.crt\n"
	  "  cert_file: server.crt\n  key_file: server.key\n", 2, "cert_file: given twice" },
	{ "second document", "basic_auth_users:\n---\nfoo: 1\n", 2, "more than one YAML document" },
	{ "tls_server_config a string", "tls_server_config: yes\n", 2,
	  "tls_server_config: expected a mapping" },
	{ "cert_file a list", "tls_server_config:\n  cert_file: [server.crt]\n"
	  "  key_file: server.key\n", 2, "line 2: cert_file: expected a string" },
	{ "cert without key", "tls_server_config:\n  cert_file: server.crt\n", 2,
	  "cert_file without key_file" },
	{ "key without cert", "tls_server_config:\n  key_file: server.key\n", 2,
	  "key_file without cert_file" },
	{ "key of another certificate", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: other.key\n", 2, "key_file other.key does not match cert_file server.crt" },
	{ "cert file missing", "tls_server_config:\n  cert_file: nothere.crt\n"
	  "  key_file: server.key\n", 3, "nothere.crt: No such file or directory" },
	{ "key file a directory", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: .\n", 3, "key_file" },
	{ "cert not PEM", "tls_server_config:\n  cert_file: garbage.pem\n"
	  "  key_file: server.key\n", 2, "cert_file garbage.pem" },
	{ "unknown client_auth_type", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  client_auth_type: RequireClientCert2\n", 2,
	  "line 4: tls_server_config: client_auth_type: unknown value 'RequireClientCert2'" },
	{ "verifying without CA", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n", 2,
	  "RequireAndVerifyClientCert needs client_ca_file" },
	{ "verify if given without CA", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  client_auth_type: VerifyClientCertIfGiven\n", 2,
	  "VerifyClientCertIfGiven needs client_ca_file" },
	{ "CA without client auth", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  client_ca_file: ca.crt\n", 2,
	  "client_ca_file given with client_auth_type NoClientCert" },
	{ "CA file missing", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n"
	  "  client_ca_file: noca.crt\n", 3, "client_ca_file" },
	{ "CA file empty", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n"
	  "  client_ca_file: empty.pem\n", 2, "client_ca_file empty.pem" },
	{ "client auth without TLS", "tls_server_config:\n"
	  "  client_auth_type: RequireAnyClientCert\n", 2, "needs cert_file and key_file" },
	{ "unknown min_version", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  min_version: TLS14\n", 2,
	  "line 4: tls_server_config: min_version: unknown TLS version 'TLS14'" },
	{ "min above max", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n", 2,
	  "min_version TLS13 is above max_version TLS12" },
	{ "cipher_suites", "tls_server_config:\n  cert_file: server.crt\n"
	  "  key_file: server.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", 2,
	  "cipher_suites is not supported" },
	{ "http_server_config", "http_server_config:\n  http2: false\n", 2,
	  "http_server_config is not supported" },
	{ "plain password", "basic_auth_users:\n  alice: secret\n", 2,
	  "alice: the password is not a bcrypt hash" },
	{ "MD5 crypt", "basic_auth_users:\n  alice: $1$abcdefgh$ABCDEFGHIJKLMNOPQRSTUV\n", 2,
	  "alice: the password is not a bcrypt hash" },
	{ "SHA-512 crypt", "basic_auth_users:\n  alice: $6$saltsalt$abc\n", 2,
	  "alice: the password is not a bcrypt hash" },
	{ "bcrypt cut short", "basic_auth_users:\n  alice: $2y$05$abcdefghijklmnopqrstuv\n", 2,
	  "alice: the password is not a bcrypt hash" },
	{ "empty password", "basic_auth_users:\n  alice:\n", 2,
	  "alice: the password is not a bcrypt hash" },
	{ "users a list", "basic_auth_users:\n  - alice\n", 2,
	  "basic_auth_users: expected a mapping" },
	{ "user with a colon", "basic_auth_users:\n  'a:b': @HASH@\n", 2,
	  "a user name must be non-empty and hold no ':'" },
	{ "control bytes in a key", "\"evil\\nkey\\e[2J\": 1\n", 2,
	  "unknown key 'evil\\x0akey\\x1b[2J'" },
};

START_TEST(test_invalid_config)
{
	const struct bad_row *row = &bad_rows[_i];
	char path[PATH_MAX], text[4096], prefix[PATH_MAX + 64], addr[32];
	struct run_result r;

	if (skip("test_invalid_config"))
		return;
	if (row->yaml) {
		const char *at = strstr(row->yaml, "@HASH@");

		if (at)
			snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - row->yaml), row->yaml,
				 alice_hash, at + 6);
		else
			snprintf(text, sizeof(text), "%s", row->yaml);
		write_file("bad.yml", text, path, sizeof(path));
	} else {
		snprintf(path, sizeof(path), "%s/no-such-web-config.yml", dir);
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", free_port());
	run_sockaudit(&r, NULL, "--listen", addr, "--web-config", path, NULL);
	ck_assert_msg(r.status == row->status, "%s: status %d, want %d; stderr: %s",
		      row->name, r.status, row->status, r.err);
	ck_assert_msg(r.out_len == 0, "%s: stdout not empty: %s", row->name, r.out);
	ck_assert_msg(count_lines(r.err) == 1, "%s: want one line: %s", row->name, r.err);
	snprintf(prefix, sizeof(prefix), "sockaudit: web config %s: ", path);
	ck_assert_msg(!strncmp(r.err, prefix, strlen(prefix)), "%s: %s", row->name, r.err);
	ck_assert_msg(strstr(r.err, row->want), "%s: want '%s' in: %s", row->name, row->want,
		      r.err);
	run_result_free(&r);
}
END_TEST

START_TEST(test_needs_listen)
{
	struct run_result r;

	run_sockaudit(&r, NULL, "--web-config", "/etc/sockaudit/web-config.yml", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_int_eq((int)r.out_len, 0);
	ck_assert_str_eq(r.err, "sockaudit: --web-config needs --listen "
			 "(try 'sockaudit --help')\n");
	run_result_free(&r);
}
END_TEST

/* Every error return writes err: here the one webconfig_load gives for
 * versions webconfig_parse cannot produce (err was left as it was). */
START_TEST(test_error_message_always)
{
	static const char text[] = "tls_server_config:\n  cert_file: server.crt\n"
				   "  key_file: server.key\n";
	char err[512];
	struct webconfig wc;

	if (skip("test_error_message_always"))
		return;
	ck_assert_int_eq(webconfig_parse(text, strlen(text), &wc, err, sizeof(err)), 0);
	wc.max_version = (enum webconfig_tls_version)9;
	snprintf(err, sizeof(err), "stale");
	ck_assert_int_eq(webconfig_load(&wc, dir, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "tls_server_config") != NULL, "err: '%s'", err);
	webconfig_free(&wc);
}
END_TEST

/* User names that are also top-level keys sockaudit refuses: only a
 * duplicate user is an error in basic_auth_users. */
static const char *const user_names[] = { "key", "cert", "client_ca", "rate_limit" };

START_TEST(test_user_named_like_a_key)
{
	char text[512], err[512] = "";
	struct webconfig wc;

	if (skip("test_user_named_like_a_key"))
		return;
	snprintf(text, sizeof(text), "basic_auth_users:\n  %s: %s\n", user_names[_i],
		 bob_hash);
	ck_assert_msg(webconfig_parse(text, strlen(text), &wc, err, sizeof(err)) == 0,
		      "user %s: %s", user_names[_i], err);
	ck_assert_uint_eq(wc.nusers, 1);
	ck_assert(webconfig_check_user(&wc, user_names[_i], "other"));
	webconfig_free(&wc);
}
END_TEST

/* ---- webconfig_check_user, in this process ---- */

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The shortest of 5 checks, in microseconds; with `fresh`, each with a
 * password never checked before ("PASS0".."PASS4"), else pass itself. */
static long long min_check_us(struct webconfig *wc, const char *user, const char *pass,
			      bool fresh, bool want)
{
	long long best = -1;

	for (int i = 0; i < 5; i++) {
		char p[64];
		long long t0;

		snprintf(p, sizeof(p), fresh ? "%s%d" : "%s", pass, i);
		t0 = now_us();
		ck_assert_msg(webconfig_check_user(wc, user, p) == want, "%s:%s", user, p);
		t0 = now_us() - t0;
		if (best < 0 || t0 < best)
			best = t0;
	}
	return best;
}

/*
 * Right and wrong credentials; an unknown user costs a bcrypt like a
 * wrong password (the minimum of 5 new ones at least a third of it:
 * without the dummy check it is a thousand times less); a success and
 * a repeated failure are cached (the minimum of 5 below a quarter of
 * one bcrypt).  Cost 8: ~20 ms each.
 */
START_TEST(test_check_user)
{
	char hash[128], text[512], err[512];
	struct webconfig wc;
	long long wrong, unknown, cached, again;

	if (skip("test_check_user"))
		return;
	bcrypt_hash("alice", "secret", "8", hash, sizeof(hash));
	/* bob (cost 5) first: an unknown user is checked against alice's
	 * costlier hash, not the first one. */
	snprintf(text, sizeof(text), "basic_auth_users:\n  bob: %s\n  alice: %s\n", bob_hash,
		 hash);
	ck_assert_int_eq(webconfig_parse(text, strlen(text), &wc, err, sizeof(err)), 0);
	ck_assert(!webconfig_check_user(&wc, "alice", ""));
	ck_assert(!webconfig_check_user(&wc, "alice", "secret "));
	ck_assert(!webconfig_check_user(&wc, "Alice", "secret"));
	ck_assert(!webconfig_check_user(&wc, "bob", "secret"));
	ck_assert(webconfig_check_user(&wc, "bob", "other"));
	wrong = min_check_us(&wc, "alice", "wrong", true, false);
	unknown = min_check_us(&wc, "carol", "secret", true, false);
	ck_assert(webconfig_check_user(&wc, "alice", "secret"));
	cached = min_check_us(&wc, "alice", "secret", false, true);
	again = min_check_us(&wc, "alice", "wrong", false, false);
	fprintf(stderr, "test_check_user: bcrypt cost 8: wrong password %lld us, unknown "
		"user %lld us, cached success %lld us, cached failure %lld us (minimum of 5)\n",
		wrong, unknown, cached, again);
	ck_assert_msg(unknown * 3 >= wrong, "unknown user %lld us, wrong password %lld us",
		      unknown, wrong);
	ck_assert_msg(cached * 4 < wrong, "cached %lld us, bcrypt %lld us", cached, wrong);
	ck_assert_msg(again * 4 < wrong, "cached failure %lld us, bcrypt %lld us", again, wrong);
	/* A wrong password after the success is still refused (and not cached). */
	ck_assert(!webconfig_check_user(&wc, "alice", "secreT"));
	webconfig_free(&wc);
}
END_TEST

/* ---- TLS and basic authentication over the wire ---- */

struct auth_row {
	const char *path;
	const char *user; /* -u USER:PASS; NULL: none */
	int status;
};

static const struct auth_row auth_rows[] = {
	{ "/metrics", NULL, 401 },
	{ "/metrics", "alice:wrong", 401 },
	{ "/metrics", "carol:secret", 401 },
	{ "/metrics", "alice:", 401 },
	{ "/metrics", "alice:secret", 200 },
	{ "/metrics", "bob:other", 200 },
	{ "/metrics", "bob:secret", 401 },
	{ "/", NULL, 401 },
	{ "/", "alice:secret", 200 },
	{ "/nothing", NULL, 401 },
	{ "/nothing", "alice:secret", 404 },
	{ "/metrics", "alice:secret", 200 }, /* again: from the cache */
};

START_TEST(test_basic_auth)
{
	char cfg[PATH_MAX], body[256];
	struct bg_proc e;
	int port;

	if (skip("test_basic_auth"))
		return;
	web_config("auth.yml", NULL, true, true, cfg, sizeof(cfg));
	exporter_start(&e, &port, cfg);
	for (int i = 0; i < NROWS(auth_rows); i++) {
		const struct auth_row *row = &auth_rows[i];
		const char *const with[] = { "-u", row->user, NULL };
		char *head = NULL;
		int status = curl_get(port, row->path, row->user ? with : NULL, &head, body,
				      sizeof(body));

		ck_assert_msg(status == row->status, "%s as %s: %d, want %d:\n%s", row->path,
			      row->user ? row->user : "nobody", status, row->status, head);
		if (status == 401)
			ck_assert_msg(strstr(head, "WWW-Authenticate: Basic realm=\"sockaudit\"\r\n"),
				      "401 without WWW-Authenticate:\n%s", head);
		else
			ck_assert_msg(!strstr(head, "WWW-Authenticate"), "%s", head);
		if (status == 200 && !strcmp(row->path, "/metrics"))
			ck_assert_msg(!strncmp(body, "# HELP sockaudit_", 17), "%s", body);
		free(head);
	}
	exporter_stop_ok(&e);
}
END_TEST

/*
 * A client guessing passwords: one curl sends GUESSES requests over a
 * kept-alive connection, each with a new wrong password, and in their
 * midst one with the right (already cached) password.  After the
 * burst of uncached checks the guesses are answered 429 with
 * Retry-After (no bcrypt), the right password still 200, and so does
 * another connection's request with it right after.
 */
#define GUESSES 30
START_TEST(test_guessing_throttled)
{
	static char users[GUESSES][32];
	const char *argv[GUESSES * 12 + 4];
	const char *const right[] = { "-u", "alice:secret", NULL };
	char cfg[PATH_MAX], ca[PATH_MAX], url[128], body[64];
	int n401 = 0, n429 = 0, n200 = 0, n = 0;
	char *line, *save = NULL, *head = NULL;
	struct run_result r;
	struct bg_proc e;
	int port;

	if (skip("test_guessing_throttled"))
		return;
	web_config("throttle.yml", NULL, true, false, cfg, sizeof(cfg));
	exporter_start(&e, &port, cfg);
	ck_assert_int_eq(curl_get(port, "/", right, NULL, body, sizeof(body)), 200);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	argv[n++] = "curl";
	for (int i = 0; i < GUESSES; i++) {
		if (i)
			argv[n++] = "--next";
		snprintf(users[i], sizeof(users[i]), i == GUESSES / 2 ? "alice:secret" :
			 "alice:guess%d", i);
		argv[n++] = "-sS";
		argv[n++] = "--cacert";
		argv[n++] = ca;
		argv[n++] = "-o";
		argv[n++] = "/dev/null";
		argv[n++] = "-w";
		argv[n++] = "%{http_code}\n";
		argv[n++] = "-u";
		argv[n++] = users[i];
		argv[n++] = url;
	}
	argv[n] = NULL;
	ck_assert_int_eq(run_cmd(argv, NULL, 60000, &r), 0);
	n = 0;
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		int status = atoi(line);

		if (n == GUESSES / 2)
			ck_assert_msg(status == 200, "the right password among guesses: %d", status);
		n200 += status == 200;
		n401 += status == 401;
		n429 += status == 429;
	}
	run_result_free(&r);
	fprintf(stderr, "test_guessing_throttled: %d guesses: %d answered 401, %d 429\n",
		GUESSES - 1, n401, n429);
	ck_assert_int_eq(n, GUESSES);
	ck_assert_int_eq(n200, 1);
	ck_assert_int_ge(n401, 7); /* the burst of 8, less the first right check */
	ck_assert_int_ge(n429, 1);
	ck_assert_int_eq(n401 + n429, GUESSES - 1);
	ck_assert_int_eq(curl_get(port, "/", right, NULL, body, sizeof(body)), 200);
	{
		const char *const guess[] = { "-u", "alice:one-more-guess", NULL };

		ck_assert_int_eq(curl_get(port, "/", guess, &head, body, sizeof(body)), 429);
		ck_assert_msg(strstr(head, "Retry-After: 1\r\n") != NULL, "%s", head);
		free(head);
	}
	exporter_stop_ok(&e);
}
END_TEST

/* What is not TLS on the TLS port: no HTTP answer, and the exporter
 * serves the next client. */
#define BYTES(s) { s, sizeof(s) - 1 }
static const struct {
	const char *b;
	size_t len;
} not_tls[] = {
	BYTES("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
	BYTES("GET /metrics\r\n"), /* HTTP/0.9 */
	BYTES("\x16\x03\x01\x00\x05hello"), /* a TLS record header, then nonsense */
	BYTES("\x00\x01\x02\x03 SSH-2.0-OpenSSH_9.2\r\n\r\n"),
};

START_TEST(test_not_tls)
{
	char cfg[PATH_MAX], body[64];
	struct bg_proc e;
	int port;

	if (skip("test_not_tls"))
		return;
	web_config("plain.yml", NULL, true, false, cfg, sizeof(cfg));
	exporter_start(&e, &port, cfg);
	for (int i = 0; i < NROWS(not_tls); i++) {
		struct http_resp r;
		int rc = http_raw("127.0.0.1", port, not_tls[i].b, not_tls[i].len, 20000, &r);

		ck_assert_msg(rc == 0 || rc == -ECONNRESET, "row %d: %s", i, strerror(-rc));
		ck_assert_msg(r.status == 0, "row %d: an HTTP answer on the TLS port: %s", i,
			      r.head);
		http_free(&r);
		ck_assert_int_eq(curl_get(port, "/metrics",
					  (const char *const[]){ "-u", "alice:secret", NULL },
					  NULL, body, sizeof(body)), 200);
	}
	/* HTTP/0.9 inside TLS: no metrics either. */
	{
		char connect[64], ca[PATH_MAX];
		const char *argv[] = { "sh", "-c",
				       "printf 'GET /metrics\\r\\n' | openssl s_client -quiet "
				       "-connect \"$1\" -CAfile \"$2\" 2>/dev/null",
				       "sh", connect, ca, NULL };
		struct run_result r;

		snprintf(connect, sizeof(connect), "127.0.0.1:%d", port);
		snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
		ck_assert_int_eq(run_cmd(argv, NULL, 60000, &r), 0);
		ck_assert_msg(!strstr(r.out, "sockaudit_"), "HTTP/0.9 over TLS: %s", r.out);
		run_result_free(&r);
	}
	ck_assert_int_eq(curl_get(port, "/metrics",
				  (const char *const[]){ "-u", "alice:secret", NULL }, NULL, body,
				  sizeof(body)), 200);
	exporter_stop_ok(&e);
}
END_TEST

/* ---- client certificates ---- */

/* CERT_SERVER: the server's certificate, signed by the CA but for
 * serverAuth only (no clientAuth extended key usage). */
enum client_cert { CERT_NONE, CERT_GOOD, CERT_OTHER, CERT_SERVER };

static const char *const cert_names[] = {
	[CERT_NONE] = "no", [CERT_GOOD] = "client", [CERT_OTHER] = "other",
	[CERT_SERVER] = "server",
};

struct cert_row {
	const char *mode;
	enum client_cert cert;
	bool ok;
};

static const struct cert_row cert_rows[] = {
	{ "RequireAndVerifyClientCert", CERT_NONE, false },
	{ "RequireAndVerifyClientCert", CERT_OTHER, false },
	{ "RequireAndVerifyClientCert", CERT_GOOD, true },
	{ "RequireAndVerifyClientCert", CERT_SERVER, false },
	{ "VerifyClientCertIfGiven", CERT_SERVER, false },
	{ "VerifyClientCertIfGiven", CERT_NONE, true },
	{ "VerifyClientCertIfGiven", CERT_OTHER, false },
	{ "VerifyClientCertIfGiven", CERT_GOOD, true },
	{ "RequireAnyClientCert", CERT_NONE, false },
	{ "RequireAnyClientCert", CERT_OTHER, true },
	{ "RequestClientCert", CERT_NONE, true },
	{ "RequestClientCert", CERT_OTHER, true },
	{ "NoClientCert", CERT_NONE, true },
};

/* openssl s_client with TLS version v ("-tls1_2"), the certificate,
 * sending an HTTP/1.0 request: whether an HTTP answer came back. */
static bool s_client_answered(int port, const char *v, enum client_cert cert)
{
	char connect[64], ca[PATH_MAX], crt[2 * PATH_MAX + 32];
	const char *argv[] = { "sh", "-c",
			       "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -quiet "
			       "$1 -connect \"$2\" -CAfile \"$3\" $4 2>/dev/null",
			       "sh", v, connect, ca, crt, NULL };
	struct run_result r;
	bool answered;

	snprintf(connect, sizeof(connect), "127.0.0.1:%d", port);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	if (cert == CERT_NONE)
		crt[0] = '\0';
	else
		snprintf(crt, sizeof(crt), "-cert %s/%s.crt -key %s/%s.key", dir,
			 cert_names[cert], dir, cert_names[cert]);
	ck_assert_int_eq(run_cmd(argv, NULL, 60000, &r), 0);
	answered = strstr(r.out, "HTTP/1.") != NULL;
	run_result_free(&r);
	return answered;
}

START_TEST(test_client_cert)
{
	const struct cert_row *row = &cert_rows[_i];
	char cfg[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], good_crt[PATH_MAX], good_key[PATH_MAX];
	char body[64];
	const char *with_cert[] = { "--cert", crt, "--key", key, NULL };
	const char *with_good[] = { "--cert", good_crt, "--key", good_key, NULL };
	struct bg_proc e;
	int port, status;

	if (skip("test_client_cert"))
		return;
	web_config("certs.yml", !strcmp(row->mode, "NoClientCert") ? NULL : row->mode, false,
		   false, cfg, sizeof(cfg));
	exporter_start(&e, &port, cfg);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, cert_names[row->cert]);
	snprintf(key, sizeof(key), "%s/%s.key", dir, cert_names[row->cert]);
	snprintf(good_crt, sizeof(good_crt), "%s/client.crt", dir);
	snprintf(good_key, sizeof(good_key), "%s/client.key", dir);
	status = curl_get(port, "/", row->cert == CERT_NONE ? NULL : with_cert, NULL, body,
			  sizeof(body));
	ck_assert_msg(status == (row->ok ? 200 : 0), "%s, %s certificate: curl %d", row->mode,
		      cert_names[row->cert], status);
	ck_assert_msg(s_client_answered(port, "-tls1_2", row->cert) == row->ok,
		      "%s: openssl s_client -tls1_2", row->mode);
	ck_assert_msg(s_client_answered(port, "-tls1_3", row->cert) == row->ok,
		      "%s: openssl s_client -tls1_3", row->mode);
	/* Whatever the handshake did, the exporter serves the next one. */
	ck_assert_int_eq(curl_get(port, "/", with_good, NULL, body, sizeof(body)), 200);
	exporter_stop_ok(&e);
}
END_TEST

/* ---- SIGHUP ---- */


/*
 * Fail closed: when the current web config's credentials cannot be set
 * on a session (the fail_gnutls_cred shim fails the exporter's
 * gnutls_credentials_set), RequireAndVerifyClientCert must not fall
 * back to libmicrohttpd's credentials, which verify nothing: another
 * CA's certificate, or the right one, gets no answer.
 */
START_TEST(test_fail_closed)
{
	const char *shims = test_env_dir("TEST_SHIMS", "build/tests/shim");
	const char *old = getenv("ASAN_OPTIONS");
	char cfg[PATH_MAX];
	struct bg_proc e;
	int port;

	if (skip("test_fail_closed"))
		return;
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/fail_gnutls_cred.so", shims);
	snprintf(asan_options, sizeof(asan_options), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 old ? old : "", old && *old ? ":" : "");
	web_config("closed.yml", "RequireAndVerifyClientCert", false, false, cfg, sizeof(cfg));
	exporter_start(&e, &port, cfg);
	preload[0] = '\0';
	ck_assert_msg(!s_client_answered(port, "-tls1_3", CERT_OTHER),
		      "another CA's certificate answered");
	ck_assert_msg(!s_client_answered(port, "-tls1_2", CERT_OTHER),
		      "another CA's certificate answered (TLS 1.2)");
	ck_assert_msg(!s_client_answered(port, "-tls1_3", CERT_GOOD),
		      "a session without the web config's credentials answered");
	exporter_stop_ok(&e);
}
END_TEST

/* Poll until alice:pass gets want (10 s at most). */
static int wait_status(int port, const char *user, int want)
{
	long long deadline = test_now_ms() + 10000;
	char body[64];
	int got;

	do {
		got = curl_get(port, "/", (const char *const[]){ "-u", user, NULL }, NULL, body,
			       sizeof(body));
		if (got == want)
			break;
		sleep_ms(100);
	} while (test_now_ms() < deadline);
	return got;
}

START_TEST(test_sighup)
{
	char cfg[PATH_MAX], text[1024], *err;
	struct bg_proc e;
	int port, lines;

	if (skip("test_sighup"))
		return;
	web_config("hup.yml", NULL, true, false, cfg, sizeof(cfg));
	exporter_start(&e, &port, cfg);
	ck_assert_int_eq(wait_status(port, "alice:secret", 200), 200);
	ck_assert_int_eq(wait_status(port, "bob:other", 401), 401);

	/* bob instead of alice. */
	web_config("hup.yml", NULL, false, true, cfg, sizeof(cfg));
	ck_assert_int_eq(kill(e.pid, SIGHUP), 0);
	ck_assert_int_eq(wait_status(port, "bob:other", 200), 200);
	ck_assert_int_eq(wait_status(port, "alice:secret", 401), 401);

	/* An invalid file: one line, bob still in. */
	snprintf(text, sizeof(text), "basic_auth_users:\n  alice: secret\n");
	write_file("hup.yml", text, cfg, sizeof(cfg));
	ck_assert_int_eq(kill(e.pid, SIGHUP), 0);
	for (long long deadline = test_now_ms() + 10000; test_now_ms() < deadline;) {
		err = bg_stderr(&e);
		lines = count_lines_containing(err, "still serving with the previous one");
		free(err);
		if (lines)
			break;
		sleep_ms(100);
	}
	ck_assert_int_eq(wait_status(port, "bob:other", 200), 200);
	ck_assert_int_eq(wait_status(port, "alice:secret", 401), 401);

	/* TLS cannot be switched off by a reload. */
	snprintf(text, sizeof(text), "basic_auth_users:\n  alice: %s\n", alice_hash);
	write_file("hup.yml", text, cfg, sizeof(cfg));
	ck_assert_int_eq(kill(e.pid, SIGHUP), 0);
	for (long long deadline = test_now_ms() + 10000; test_now_ms() < deadline;) {
		err = bg_stderr(&e);
		lines = count_lines_containing(err, "still serving with the previous one");
		free(err);
		if (lines == 2)
			break;
		sleep_ms(100);
	}
	ck_assert_int_eq(wait_status(port, "bob:other", 200), 200);

	err = bg_stderr(&e);
	ck_assert_msg(count_lines_containing(err, "read again (TLS, 1 user)") == 1, "%s", err);
	ck_assert_msg(count_lines_containing(err, "line 2: basic_auth_users: alice: the "
					     "password is not a bcrypt hash") == 1, "%s", err);
	ck_assert_msg(count_lines_containing(err, "TLS cannot be turned off by SIGHUP") == 1,
		      "%s", err);
	ck_assert_msg(all_lines_start_with(err, "sockaudit: "), "%s", err);
	free(err);
	exporter_stop_ok(&e);
}
END_TEST

/* ---- a real Prometheus over HTTPS ---- */

/* /api/v1/targets: one line per target, "job health lastError". */
static char *targets_text(int pport)
{
	char url[96];
	const char *argv[] = { "curl", "-sS", "--max-time", CURL_S, url, NULL };
	struct run_result r;
	cJSON *doc, *t, *all;
	char *out = calloc(1, 4096);
	size_t n = 0;

	/* curl: the answer is chunked, which tests/lib/http.c does not read. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/targets", pport);
	ck_assert_int_eq(run_cmd(argv, NULL, 60000, &r), 0);
	doc = cJSON_Parse(r.out);
	run_result_free(&r);
	all = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "data"),
					       "activeTargets");
	cJSON_ArrayForEach(t, all) {
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(t, "labels");
		const cJSON *job = cJSON_GetObjectItemCaseSensitive(labels, "job");
		const cJSON *scrape = cJSON_GetObjectItemCaseSensitive(t, "scrapeUrl");
		const cJSON *health = cJSON_GetObjectItemCaseSensitive(t, "health");
		const cJSON *last = cJSON_GetObjectItemCaseSensitive(t, "lastError");

		if (n < 4000)
			n += (size_t)snprintf(out + n, 4096 - n, "%-10s %-28s %-5s %s\n",
					      cJSON_IsString(job) ? job->valuestring : "?",
					      cJSON_IsString(scrape) ? scrape->valuestring : "?",
					      cJSON_IsString(health) ? health->valuestring : "?",
					      cJSON_IsString(last) ? last->valuestring : "");
	}
	cJSON_Delete(doc);
	return out;
}

/* up{job=JOB} now, or -1. */
static double up_of(int pport, const char *job)
{
	cJSON *doc, *res = promserver_query(pport, "up", &doc, NULL);
	double v = res ? promserver_result_value(res, "job", job) : -1;

	cJSON_Delete(doc);
	return v;
}

/*
 * Debian's prometheus scrapes two exporters over HTTPS (ca_file): one
 * with basic authentication (job alice: the right password, job
 * mallory: a wrong one), one that requires a client certificate (job
 * cert: with the client's, job nocert: without).  Within 90 s: up is 1,
 * 0, 1, 0, and the right ones' series arrive.
 */
START_TEST(test_real_prometheus_https)
{
	char pdir[] = "/tmp/sockaudit-prometheus-tls-XXXXXX", cfg[PATH_MAX], data[PATH_MAX];
	char auth_cfg[PATH_MAX], cert_cfg[PATH_MAX], *text = NULL, *raw = NULL;
	struct bg_proc prom, ea, ec;
	int aport, cport, pport;
	double alice = -1, mallory = -1, cert = -1, nocert = -1, series = -1;
	long long deadline;
	FILE *f;

	if (skip("test_real_prometheus_https"))
		return;
	if (!in_path("prometheus")) {
		fprintf(stderr, "SKIP test_real_prometheus_https: prometheus not found\n");
		return;
	}
	web_config("prom-auth.yml", NULL, true, false, auth_cfg, sizeof(auth_cfg));
	web_config("prom-cert.yml", "RequireAndVerifyClientCert", false, false, cert_cfg,
		   sizeof(cert_cfg));
	exporter_start(&ea, &aport, auth_cfg);
	exporter_start(&ec, &cport, cert_cfg);

	ck_assert_ptr_nonnull(mkdtemp(pdir));
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", pdir);
	snprintf(data, sizeof(data), "%s/data", pdir);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n"
		"scrape_configs:\n"
		"  - job_name: alice\n    scheme: https\n    tls_config: {ca_file: %1$s/ca.crt}\n"
		"    basic_auth: {username: alice, password: secret}\n"
		"    static_configs: [{targets: ['127.0.0.1:%2$d']}]\n"
		"  - job_name: mallory\n    scheme: https\n    tls_config: {ca_file: %1$s/ca.crt}\n"
		"    basic_auth: {username: alice, password: guess}\n"
		"    static_configs: [{targets: ['127.0.0.1:%2$d']}]\n"
		"  - job_name: cert\n    scheme: https\n"
		"    tls_config: {ca_file: %1$s/ca.crt, cert_file: %1$s/client.crt,"
		" key_file: %1$s/client.key}\n"
		"    static_configs: [{targets: ['127.0.0.1:%3$d']}]\n"
		"  - job_name: nocert\n    scheme: https\n    tls_config: {ca_file: %1$s/ca.crt}\n"
		"    static_configs: [{targets: ['127.0.0.1:%3$d']}]\n",
		dir, aport, cport);
	ck_assert_int_eq(fclose(f), 0);
	promserver_start(&prom, &pport, cfg, data);

	deadline = test_now_ms() + 90000;
	do {
		cJSON *doc, *res;

		sleep_ms(500);
		alice = up_of(pport, "alice");
		mallory = up_of(pport, "mallory");
		cert = up_of(pport, "cert");
		nocert = up_of(pport, "nocert");
		res = promserver_query(pport, "count({job=\"alice\",__name__=~\"sockaudit_.*\"}) "
				       "and count({job=\"cert\",__name__=~\"sockaudit_.*\"})",
				       &doc, NULL);
		series = res && cJSON_GetArraySize(res) == 1 ?
				 atof(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
					 cJSON_GetArrayItem(res, 0), "value"), 1)->valuestring) : -1;
		cJSON_Delete(doc);
	} while ((alice != 1 || mallory != 0 || cert != 1 || nocert != 0 || series <= 0) &&
		 test_now_ms() < deadline);
	text = targets_text(pport);
	fprintf(stderr, "--- Prometheus /api/v1/targets (test_real_prometheus_https): job, "
		"scrape URL, health, last error:\n%s--- sockaudit_* series of job alice: %g\n",
		text, series);
	ck_assert_msg(alice == 1 && mallory == 0 && cert == 1 && nocert == 0 && series > 0,
		      "up: alice %g mallory %g cert %g nocert %g; series %g\n%s", alice, mallory,
		      cert, nocert, series, text);
	ck_assert_msg(strstr(text, "401 Unauthorized"), "mallory's error is not 401:\n%s", text);
	free(text);
	free(raw);

	ck_assert_int_ge(bg_stop(&prom, SIGTERM, 30000), 0);
	bg_free(&prom);
	exporter_stop_ok(&ea);
	exporter_stop_ok(&ec);
	{
		const char *argv[] = { "rm", "-rf", "--", pdir, NULL };
		struct run_result r;

		ck_assert_int_eq(run_cmd(argv, NULL, RUN_TIMEOUT_MS, &r), 0);
		run_result_free(&r);
	}
}
END_TEST

static Suite *webconfig_suite(void)
{
	Suite *s = suite_create("webconfig");
	TCase *tc = tcase_create("config");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, setup, teardown_dir);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_invalid_config, 0, NROWS(bad_rows));
	tcase_add_test(tc, test_needs_listen);
	tcase_add_test(tc, test_check_user);
	tcase_add_loop_test(tc, test_user_named_like_a_key, 0, NROWS(user_names));
	tcase_add_test(tc, test_error_message_always);
	suite_add_tcase(s, tc);

	tc = tcase_create("exporter");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, setup, teardown_dir);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_basic_auth);
	tcase_add_test(tc, test_guessing_throttled);
	tcase_add_test(tc, test_not_tls);
	tcase_add_loop_test(tc, test_client_cert, 0, NROWS(cert_rows));
	tcase_add_test(tc, test_fail_closed);
	tcase_add_test(tc, test_sighup);
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus_server");
	tcase_set_timeout(tc, 240);
	tcase_add_unchecked_fixture(tc, setup, teardown_dir);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_real_prometheus_https);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(webconfig_suite());
}
