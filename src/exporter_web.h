/*
 * The exporter's --web-config in force: TLS through libmicrohttpd's
 * GnuTLS support, basic authentication, and SIGHUP reloads.
 *
 * A generation is one reading of the file with its GnuTLS credentials
 * and priorities.  Every TLS connection is given the generation current
 * when it is accepted (exporter_web_notify), and keeps it until it
 * closes; a SIGHUP reads the file again on the main thread and, when
 * valid, hands it to the loop thread (exporter_web_offer), which makes
 * it current between two runs of libmicrohttpd (exporter_web_swap).
 * An old generation is freed when its last connection closes.  Only the
 * loop thread touches the current generation, so requests see one
 * consistent configuration without a lock.
 */
#ifndef EXPORTER_WEB_H
#define EXPORTER_WEB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "webconfig.h"

struct web_gen;

/* Password checks that are not cached (bcrypt) per client: a token
 * bucket per address (exporter_web_authorized). */
#define WEB_THROTTLE_SLOTS 64
#define WEB_THROTTLE_BURST 8.0 /* checks at once */
#define WEB_THROTTLE_RATE 2.0  /* checks a second after that */
struct web_bucket {
	unsigned char key[8]; /* conns_client_key */
	size_t len;	      /* 0: a free slot */
	double tokens;
	long long last_ms;    /* last refill, also the LRU order */
};

struct exporter_web {
	const char *path;	 /* --web-config; NULL: plain HTTP, no users */
	struct web_gen *cur;	 /* the loop thread's */
	struct web_gen *retired; /* replaced, still used by connections */
	pthread_mutex_t lock;	 /* guards pending */
	struct web_gen *pending; /* read on SIGHUP, not yet current */
	long long last_denied_log; /* ms: 401s are logged once a minute */
	bool tls;		 /* fixed at start: a reload cannot change it */
	struct web_bucket buckets[WEB_THROTTLE_SLOTS]; /* the loop thread's */
	atomic_ullong *throttled; /* 429s counted here when not NULL */
};

/*
 * Take *wc (read by the caller from path; zeroed here) as the first
 * generation.  Returns 0, or -EINVAL when GnuTLS refuses what
 * webconfig_load accepted or memory runs out (message in err).  Not the
 * file's content, which webconfig_read checked (status 2): the exporter
 * cannot run, status 3 (exporter_run).
 */
int exporter_web_init(struct exporter_web *w, const char *path, struct webconfig *wc,
		      char *err, size_t errlen);
void exporter_web_fini(struct exporter_web *w);

/*
 * libmicrohttpd options for TLS (MHD_USE_TLS in *flags; key,
 * certificate, trust and priorities in items, up to 5 with the
 * MHD_OPTION_END): to pass with MHD_OPTION_ARRAY.
 */
void exporter_web_options(const struct exporter_web *w, unsigned *flags,
			  struct MHD_OptionItem items[5]);

/* MHD_OPTION_NOTIFY_CONNECTION's callback (cls: the exporter_web): a
 * TLS connection gets the current generation's credentials, priorities
 * and client certificate policy before its handshake. */
void exporter_web_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode toe);

/*
 * SIGHUP, on the main thread: read the file again.  A valid one is
 * offered to the loop thread (one log line says so); with an invalid
 * one the exporter keeps serving with the previous (one log line says
 * why).
 */
void exporter_web_reload(struct exporter_web *w);

/* The loop thread, between two runs of libmicrohttpd: make an offered
 * generation current.  Returns whether one was. */
bool exporter_web_swap(struct exporter_web *w);

/*
 * Whether the request on c may be answered: true without users; else
 * its basic credentials are checked (webconfig_check_user).  When not,
 * 401 with WWW-Authenticate: Basic realm="sockaudit" has been queued
 * on c and *ret holds what the handler returns; or, when the check is
 * not cached and the client (an IPv4 address, an IPv6 /64) had more
 * than WEB_THROTTLE_BURST such checks lately (WEB_THROTTLE_RATE a
 * second refill), 429 with Retry-After, without a bcrypt.
 */
bool exporter_web_authorized(struct exporter_web *w, struct MHD_Connection *c,
			     const char *method, const char *url, enum MHD_Result *ret);

#endif
