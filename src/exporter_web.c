/*
 * The exporter's --web-config in force: see exporter_web.h.
 *
 * TLS is libmicrohttpd's (GnuTLS).  libmicrohttpd makes one credentials
 * set at start and gives it to every session; exporter_web_notify runs
 * when a connection is accepted, after libmicrohttpd made its GnuTLS
 * session and before the handshake, and replaces the credentials and
 * priorities with the current generation's and sets the client
 * certificate policy, which libmicrohttpd cannot express (it only
 * requests a certificate, never requires one):
 *
 *   client_auth_type             request   verify against client_ca_file
 *   NoClientCert                 no        -
 *   RequestClientCert            yes       no
 *   RequireAnyClientCert         required  no
 *   VerifyClientCertIfGiven      yes       yes, when one is sent
 *   RequireAndVerifyClientCert   required  yes
 *
 * A required certificate that is missing (GNUTLS_CERT_REQUIRE), or one
 * that does not verify (verify_peer, GnuTLS's verify callback), fails
 * the handshake: no HTTP request is read.  (gnutls_session_set_verify_cert
 * would fail a handshake without a certificate too, which
 * VerifyClientCertIfGiven must accept.)  A session that cannot be given
 * all of it is ended before its handshake (fail closed, refuse).
 */
#include "exporter_web.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "diag.h"
#include "exporter_conns.h"
#include "exporter_http.h"
#include "webconfig_auth.h"
#include "webconfig_files.h"

/* Logged at most once a minute: a Prometheus with a wrong password
 * tries every scrape interval. */
#define WEB_DENIED_LOG_MS 60000

struct web_gen {
	struct webconfig wc;
	gnutls_certificate_credentials_t cred; /* NULL without TLS */
	gnutls_priority_t prio;
	unsigned refs;		/* TLS connections using cred */
	struct web_gen *next;	/* on the retired list */
};

static void gen_free(struct web_gen *g)
{
	if (!g)
		return;
	if (g->cred)
		gnutls_certificate_free_credentials(g->cred);
	if (g->prio)
		gnutls_priority_deinit(g->prio);
	webconfig_free(&g->wc);
	free(g);
}

/* GnuTLS's verify callback for the verifying client_auth_types: a
 * certificate sent must chain to client_ca_file, be valid now and be
 * for client authentication (extended key usage clientAuth, as Go's
 * crypto/tls requires); none sent is for GNUTLS_CERT_REQUIRE to judge.
 * 0 lets the handshake go on. */
static int verify_peer(gnutls_session_t s)
{
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	unsigned n = 0, status = 0;

	if (!gnutls_certificate_get_peers(s, &n) || n == 0)
		return 0;
	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 || status)
		return GNUTLS_E_CERTIFICATE_ERROR;
	return 0;
}

/* A generation taking *wc, with its credentials when it has TLS.
 * Returns it or NULL (message in err). */
static struct web_gen *gen_new(struct webconfig *wc, char *err, size_t errlen)
{
	struct web_gen *g = calloc(1, sizeof(*g));
	enum webconfig_cred_failure failed;
	int rc = 0;

	if (!g) {
		snprintf(err, errlen, "out of memory");
		webconfig_free(wc);
		return NULL;
	}
	g->wc = *wc;
	memset(wc, 0, sizeof(*wc));
	if (!g->wc.tls)
		return g;
	rc = webconfig_credentials(&g->wc, &g->cred, &failed);
	if (rc >= 0 && (g->wc.client_auth == WC_VERIFY_CLIENT_CERT_IF_GIVEN ||
			g->wc.client_auth == WC_REQUIRE_AND_VERIFY_CLIENT_CERT))
		gnutls_certificate_set_verify_function(g->cred, verify_peer);
	if (rc >= 0)
		rc = gnutls_priority_init(&g->prio, g->wc.priorities, NULL);
	if (rc < 0) {
		snprintf(err, errlen, "GnuTLS: %s", gnutls_strerror(rc));
		gen_free(g);
		return NULL;
	}
	return g;
}

int exporter_web_init(struct exporter_web *w, const char *path, struct webconfig *wc,
		      char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->path = path;
	w->cur = gen_new(wc, err, errlen);
	if (!w->cur)
		return -EINVAL;
	w->tls = w->cur->wc.tls;
	return 0;
}

void exporter_web_fini(struct exporter_web *w)
{
	struct web_gen *g, *next;

	for (g = w->retired; g; g = next) {
		next = g->next;
		gen_free(g);
	}
	gen_free(w->pending);
	gen_free(w->cur);
	pthread_mutex_destroy(&w->lock);
	memset(w, 0, sizeof(*w));
}

void exporter_web_options(const struct exporter_web *w, unsigned *flags,
			  struct MHD_OptionItem items[5])
{
	size_t n = 0;

	if (w->tls) {
		const struct webconfig *wc = &w->cur->wc;

		*flags |= MHD_USE_TLS;
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, wc->key_pem };
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, wc->cert_pem };
		items[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						      (void *)wc->priorities };
	}
	items[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
}

/* The client certificate policy of client_auth_type on a session. */
static int set_client_auth(gnutls_session_t s, enum webconfig_client_auth a)
{
	switch (a) {
	case WC_NO_CLIENT_CERT:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_IGNORE);
		return 0;
	case WC_REQUEST_CLIENT_CERT:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
		return 0;
	case WC_REQUIRE_ANY_CLIENT_CERT:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		return 0;
	case WC_VERIFY_CLIENT_CERT_IF_GIVEN:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
		return 0;
	case WC_REQUIRE_AND_VERIFY_CLIENT_CERT:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		return 0;
	}
	return -EINVAL;
}

/* Drop a retired generation from the list and free it once no
 * connection uses it. */
static void gen_release(struct exporter_web *w, struct web_gen *g)
{
	struct web_gen **p;

	if (--g->refs || g == w->cur)
		return;
	for (p = &w->retired; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			gen_free(g);
			return;
		}
}

/* End a connection whose session could not be given the current
 * generation's credentials, priorities or client certificate policy:
 * serving it with libmicrohttpd's (no trust list, no verify callback)
 * would let a verifying client_auth_type accept any certificate.  A
 * shutdown of the socket before the handshake, as the slots' eviction
 * does: libmicrohttpd sees the end at its next run, reads no request
 * and closes the connection. */
static void refuse(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

	if (ci && ci->connect_fd >= 0)
		shutdown(ci->connect_fd, SHUT_RDWR);
}

void exporter_web_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode toe)
{
	struct exporter_web *w = cls;
	const union MHD_ConnectionInfo *ci;
	struct web_gen *g = w->cur;
	gnutls_session_t s;

	if (!w->tls)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (*socket_context)
			gen_release(w, *socket_context);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session) {
		refuse(c);
		return;
	}
	s = ci->tls_session;
	/* Fail closed: whatever cannot be set ends the connection.  The
	 * session holds g's credentials from gnutls_credentials_set on, so
	 * the reference is taken then, whatever follows. */
	if (gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, g->cred) < 0) {
		refuse(c);
		return;
	}
	g->refs++;
	*socket_context = g;
	if (gnutls_priority_set(s, g->prio) < 0 || set_client_auth(s, g->wc.client_auth) < 0)
		refuse(c);
}

void exporter_web_reload(struct exporter_web *w)
{
	struct webconfig wc;
	struct web_gen *g, *old;
	char err[1024] = "";
	int rc;

	if (!w->path) {
		diag_warn("SIGHUP: no --web-config to read again");
		return;
	}
	rc = webconfig_read(w->path, &wc, err, sizeof(err));
	if (!rc && wc.tls != w->tls) {
		snprintf(err, sizeof(err), "TLS cannot be turned %s by SIGHUP (restart)",
			 w->tls ? "off" : "on");
		rc = -EINVAL;
	}
	if (rc) {
		webconfig_free(&wc);
		diag_warn("web config %s: %s; still serving with the previous one", w->path,
			  rc == -ENOMEM ? "out of memory" : err[0] ? err : strerror(-rc));
		return;
	}
	g = gen_new(&wc, err, sizeof(err));
	if (!g) {
		diag_warn("web config %s: %s; still serving with the previous one", w->path, err);
		return;
	}
	pthread_mutex_lock(&w->lock);
	old = w->pending;
	w->pending = g;
	pthread_mutex_unlock(&w->lock);
	gen_free(old);
	diag_warn("web config %s: read again (%s, %zu user%s): new connections use it",
		  w->path, g->wc.tls ? "TLS" : "no TLS", g->wc.nusers,
		  g->wc.nusers == 1 ? "" : "s");
}

bool exporter_web_swap(struct exporter_web *w)
{
	struct web_gen *g, *old;

	pthread_mutex_lock(&w->lock);
	g = w->pending;
	w->pending = NULL;
	pthread_mutex_unlock(&w->lock);
	if (!g)
		return false;
	old = w->cur;
	w->cur = g;
	if (old->refs) {
		old->next = w->retired;
		w->retired = old;
	} else {
		gen_free(old);
	}
	return true;
}

/*
 * Take one uncached password check from the bucket of c's client: false
 * when it is empty.  An unknown client takes the least recently used
 * slot, full.  A client whose address is unknown shares one bucket.
 */
static bool throttle_take(struct exporter_web *w, struct MHD_Connection *c)
{
	unsigned char key[8] = { 0 };
	size_t len = conns_client_key(c, key), i;
	long long now = exporter_now_ms();
	struct web_bucket *b = NULL, *lru = &w->buckets[0];

	for (i = 0; i < WEB_THROTTLE_SLOTS && !b; i++) {
		struct web_bucket *x = &w->buckets[i];

		if (x->last_ms && x->len == len && !memcmp(x->key, key, len))
			b = x;
		else if (x->last_ms < lru->last_ms)
			lru = x;
	}
	if (!b) {
		b = lru;
		memcpy(b->key, key, sizeof(key));
		b->len = len;
		b->tokens = WEB_THROTTLE_BURST;
		b->last_ms = now;
	}
	b->tokens += (double)(now - b->last_ms) * WEB_THROTTLE_RATE / 1000.0;
	if (b->tokens > WEB_THROTTLE_BURST)
		b->tokens = WEB_THROTTLE_BURST;
	b->last_ms = now ? now : 1;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

/* Queue 429 with Retry-After on c: its client's bucket is empty. */
static enum MHD_Result answer_throttled(struct exporter_web *w, struct MHD_Connection *c,
					const char *method, const char *url)
{
	static const char body[] = "too many password checks from this client; "
				   "try again later\n";
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (w->throttled)
		atomic_fetch_add(w->throttled, 1);
	if (exporter_now_ms() - w->last_denied_log >= WEB_DENIED_LOG_MS ||
	    !w->last_denied_log) {
		w->last_denied_log = exporter_now_ms();
		exporter_log_request(c, method, url, MHD_HTTP_TOO_MANY_REQUESTS,
				     "too many new passwords from this client (more "
				     "refusals are not logged for a minute)");
	}
	r = exporter_response(MHD_HTTP_TOO_MANY_REQUESTS, exporter_text_type, NULL,
			      (char *)body, sizeof(body) - 1, false);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	ret = MHD_queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * The check runs on the loop thread, which serves every connection: a
 * bcrypt there (about 2 ms at htpasswd's default cost 5, 60 ms at cost
 * 10) delays everyone else by as much.  Rather than a thread that
 * checks passwords (suspending the connection meanwhile, as scrapes
 * are), results are cached (webconfig_check_user): a Prometheus
 * scrapes every few seconds with the same password, right or wrong,
 * and costs one bcrypt in the exporter's life.  A new password costs a
 * bcrypt, which the guessing client does not pay for: each client
 * address (an IPv4 address, an IPv6 /64) may have WEB_THROTTLE_BURST
 * checks at once and WEB_THROTTLE_RATE a second after that
 * (throttle_take); past them it is answered 429 without a bcrypt.  A
 * cached check, the scraper's, is never limited.  The toolkit caches
 * successes the same way.
 */
bool exporter_web_authorized(struct exporter_web *w, struct MHD_Connection *c,
			     const char *method, const char *url, enum MHD_Result *ret)
{
	static const char body[] = "unauthorized: basic authentication needed\n";
	struct MHD_Response *r;
	char *user, *pass = NULL;
	bool ok, throttled = false;

	if (!w->cur || !w->cur->wc.nusers)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = false;
	if (user && pass) {
		enum webconfig_cached k = webconfig_check_cached(&w->cur->wc, user, pass);

		if (k == WC_NOT_CACHED && !throttle_take(w, c))
			throttled = true;
		else
			ok = k == WC_CACHED_RIGHT ||
			     (k == WC_NOT_CACHED && webconfig_check_user(&w->cur->wc, user, pass));
	}
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	if (ok)
		return true;
	if (throttled) {
		*ret = answer_throttled(w, c, method, url);
		return false;
	}
	if (exporter_now_ms() - w->last_denied_log >= WEB_DENIED_LOG_MS ||
	    !w->last_denied_log) {
		w->last_denied_log = exporter_now_ms();
		exporter_log_request(c, method, url, MHD_HTTP_UNAUTHORIZED,
				     "wrong or missing credentials (more are not logged "
				     "for a minute)");
	}
	r = exporter_response(MHD_HTTP_UNAUTHORIZED, exporter_text_type, NULL, (char *)body,
			      sizeof(body) - 1, false);
	*ret = r ? MHD_queue_basic_auth_fail_response(c, "sockaudit", r) : MHD_NO;
	if (r)
		MHD_destroy_response(r);
	return false;
}
