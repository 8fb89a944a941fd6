/*
 * The exporter's scrapes and single flight.  A scrape (GET /metrics) is
 * suspended on the waiting list; the audit thread takes one audit and
 * answers every scrape waiting when it is done with it, those that came
 * during the audit too.  Answered scrapes are handed to the thread that
 * runs libmicrohttpd, which resumes their connections.
 */
#ifndef EXPORTER_SCRAPE_H
#define EXPORTER_SCRAPE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <microhttpd.h>

#include "options.h"

struct result; /* one audit's answer, shared by the scrapes that waited */

/* One request; every request has one, a scrape also waits in it. */
struct scrape {
	struct scrape *prev, *next; /* on the waiting list */
	struct MHD_Connection *c;
	struct result *res;	    /* the audit's answer (a reference) */
	struct MHD_Response *resp;  /* what to queue once resumed */
	unsigned status;
	long long deadline_ms;	    /* 0: none */
	bool resumed, gzip;
};

/* The fixed answers, made once. */
enum canned { CANNED_BUSY, CANNED_STOPPING, CANNED_LATE, CANNED_COUNT };

/* The scrapes of one exporter and its counters. */
struct scrapes {
	const struct options *o;
	pthread_mutex_t lock;	 /* the waiting and answered lists */
	pthread_cond_t wake;	 /* for the audit thread */
	struct scrape *first, *last; /* waiting, oldest first */
	unsigned waiting;
	struct scrape *answered; /* to resume, by the loop thread */
	int wakefd;		 /* eventfd: the loop thread has work */
	bool audits_done;	 /* the audit thread has returned */
	atomic_bool stopping;	 /* SIGTERM/SIGINT came: audit no more */
	atomic_bool fatal;	 /* a namespace could not be left: exit 3 */
	atomic_ullong shared;	 /* scrapes answered by another's audit */
	atomic_ullong rejected;	 /* 503 past --max-requests */
	atomic_ullong late;	 /* 503 past the scrape timeout */
	atomic_ullong refused;	 /* connections libmicrohttpd refused */
	atomic_ullong evicted;	 /* connections evicted (exporter_conns.h) */
	atomic_ullong throttled; /* password checks refused 429 (exporter_web.h) */
	struct MHD_Response *canned[CANNED_COUNT];
};

/* Set up sc for options o: its lock, the loop thread's eventfd
 * (sc->wakefd) and the fixed answers.  Returns 0 or -errno; scrapes_fini
 * frees what was made either way. */
int scrapes_init(struct scrapes *sc, const struct options *o);
void scrapes_fini(struct scrapes *sc);

/*
 * The audit thread (arg: the struct scrapes): while scrapes wait, take
 * an audit and answer every scrape waiting when it is done.  After
 * scrapes_stop, scrapes waiting before an audit began get 503; it
 * returns when stopping and none waits.
 */
void *scrapes_audit_thread(void *arg);

/* Audit no more: wakes the audit thread and the loop thread. */
void scrapes_stop(struct scrapes *sc);

/* A scrape of connection c: 503 at once when stopping or --max-requests
 * wait already, else suspended on the waiting list. */
enum MHD_Result scrapes_begin(struct scrapes *sc, struct MHD_Connection *c,
			      struct scrape *s);

/* Scrapes whose deadline has come get 503 (call it every 100 ms or so). */
void scrapes_sweep_late(struct scrapes *sc);

/* Resume the connections of the answered scrapes: only from the thread
 * that runs libmicrohttpd, between two runs. */
void scrapes_resume_answered(struct scrapes *sc);

/* Whether the audit thread has returned and no answered scrape waits to
 * be resumed: no connection is suspended any more. */
bool scrapes_idle(struct scrapes *sc);

/* Free a request's scrape and its reference on the answer. */
void scrape_free(struct scrape *s);

#endif
