/* libFuzzer target: growth.c fed random sample series.
 *
 * The input is decoded into up to 64 samples at increasing times (gaps
 * from a millisecond to hours, on a clock that may be far from 0), each
 * with some of a pool of groups (server, client and process keys, in
 * one or two namespaces) and some of a pool of processes (whose names
 * may change: a PID reused).  Every sample goes through growth_add as
 * --watch would give it, and what comes back is compared with a plain
 * model that keeps every value:
 *
 *   every rate is finite; minutes_to_limit is -1 or >= 0
 *   delta, delta_prev and fds_delta are the differences of the values
 *   leaking holds exactly when the group was present in at least
 *     LEAK_MIN_SAMPLES samples, never fell (an absence counts 0) and
 *     ended above its value at sample 0
 *   the rates are the least-squares slopes of the model (computed around
 *     the mean, to a relative 1e-6), and exactly 0 for a flat series
 *   growth_fastest names a pool group and has the highest rate
 *
 * Missing input bytes read as zeros, so every input decodes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "audit.h"
#include "growth.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SAMPLES 64
/* Past 32 of either, growth.c's tables are rehashed. */
#define NKEYS 40
#define NPIDS 40

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) | u8(in) << 8);
}

/* A count: small mostly, sometimes anywhere in 32 bits. */
static uint32_t count(struct in *in)
{
	uint8_t b = u8(in);

	if (b < 0xf0)
		return b & 0x3f;
	return (uint32_t)u16(in) << (b & 15);
}

struct model_group {
	struct group key;
	uint32_t v[MAX_SAMPLES]; /* sockets per sample, 0 when absent */
	uint32_t cw[MAX_SAMPLES];
	unsigned present;
};

struct model_proc {
	pid_t pid;
	int comm;	   /* which name it had when its series began */
	size_t n;	   /* points since then */
	double t[MAX_SAMPLES];
	uint32_t fds[MAX_SAMPLES], socks[MAX_SAMPLES];
};

/* The audit's identity of a group: a process group's (one across
 * namespaces) is not its namespace. */
static bool key_eq(const struct group *a, const struct group *b)
{
	return a->side == b->side &&
	       (a->netns == b->netns || audit_side_spans_netns(a->side)) && a->port == b->port &&
	       a->pid == b->pid && a->family == b->family &&
	       !memcmp(a->raddr, b->raddr, sizeof(a->raddr));
}

/* The pool of groups: distinct keys, the fields the audit leaves zero
 * for a side zero here too. */
static size_t build_keys(struct in *in, struct model_group *m)
{
	size_t n = 0, i, j;

	size_t want = 1 + u8(in) % NKEYS;

	for (i = 0; i < want; i++) {
		struct group k;
		uint8_t b = u8(in);
		bool dup = false;

		memset(&k, 0, sizeof(k));
		k.side = (enum group_side)(b % 3);
		k.netns = b & 4 ? 4026532000u : 0;
		if (k.side == SIDE_SERVER) {
			k.port = (uint16_t)(u8(in) % 64 + 80);
		} else if (k.side == SIDE_PROCESS) {
			k.pid = 100 + u8(in) % 64;
		} else {
			k.family = b & 8 ? AF_INET6 : AF_INET;
			k.port = (uint16_t)(u8(in) % 8 + 443);
			k.raddr[k.family == AF_INET ? 3 : 15] = (unsigned char)(b >> 6);
		}
		for (j = 0; j < n && !dup; j++)
			dup = key_eq(&m[j].key, &k);
		if (!dup)
			memcpy(&m[n++].key, &k, sizeof(k));
	}
	return n;
}

/* Least-squares slope of y over t (n points), around the means. */
static double ref_slope(const double *t, const uint32_t *y, size_t n)
{
	double tm = 0, ym = 0, num = 0, den = 0;
	size_t i;

	if (n < 2)
		return 0;
	for (i = 0; i < n; i++) {
		tm += t[i];
		ym += y[i];
	}
	tm /= (double)n;
	ym /= (double)n;
	for (i = 0; i < n; i++) {
		num += (t[i] - tm) * (y[i] - ym);
		den += (t[i] - tm) * (t[i] - tm);
	}
	return den > 0 ? num / den : 0;
}

static bool flat(const uint32_t *y, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (y[i] != y[0])
			return false;
	return true;
}

/* got is the model's slope to a relative 1e-6 of the series' scale (its
 * largest value over the time span), exactly 0 for a flat series. */
static void check_rate(double got, const double *t, const uint32_t *y, size_t n)
{
	double want, ymax = 0, span;
	size_t i;

	if (!isfinite(got))
		abort();
	if (flat(y, n)) {
		if (got != 0)
			abort();
		return;
	}
	for (i = 0; i < n; i++)
		if (y[i] > ymax)
			ymax = y[i];
	span = t[n - 1] - t[0];
	want = ref_slope(t, y, n);
	if (fabs(got - want) > 1e-6 * (fabs(want) + ymax / span)) {
		fprintf(stderr, "fuzz_growth: rate %.17g, the model's %.17g over %zu "
			"points:\n", got, want, n);
		for (i = 0; i < n; i++)
			fprintf(stderr, "  t=%.17g min  %u\n", t[i], (unsigned)y[i]);
		abort();
	}
}

static void check_group(const struct model_group *m, const double *t, size_t k,
			const struct group_growth *gg)
{
	bool fell = false;
	size_t j;

	for (j = 1; j <= k; j++)
		fell |= m->v[j] < m->v[j - 1];
	if (gg->delta != (int64_t)m->v[k] - (int64_t)m->v[0] ||
	    gg->delta_prev != (k ? (int64_t)m->v[k] - (int64_t)m->v[k - 1] : 0))
		abort();
	if (gg->leaking != (m->present >= LEAK_MIN_SAMPLES && !fell &&
			    m->v[k] > m->v[0]))
		abort();
	check_rate(gg->sockets_per_min, t, m->v, k + 1);
	check_rate(gg->close_wait_per_min, t, m->cw, k + 1);
	if (!isfinite(gg->idle_per_min))
		abort();
}

static void check_proc(const struct model_proc *m, const struct proc_rec *p,
		       const struct proc_growth *pg)
{
	if (pg->samples != m->n ||
	    pg->fds_delta != (int64_t)m->fds[m->n - 1] - (int64_t)m->fds[0])
		abort();
	check_rate(pg->fds_per_min, m->t, m->fds, m->n);
	check_rate(pg->sockets_per_min, m->t, m->socks, m->n);
	if (!isfinite(pg->minutes_to_limit) ||
	    (pg->minutes_to_limit < 0 && pg->minutes_to_limit != -1))
		abort();
	if ((pg->minutes_to_limit >= 0) !=
	    (pg->fds_per_min > 0 && p->has_fd_limit && p->fd_limit != FD_LIMIT_NONE))
		abort();
}

/* The next sample's time: gaps from 1 ms to about 18 hours. */
static double next_time(struct in *in, double when)
{
	uint8_t b = u8(in);
	double gap = 0.001 * (1 + u16(in));

	if (b & 1)
		gap *= 1000;
	return when + gap;
}

static const char *const comms[] = { "api", "worker", "api-server" };

/* One sample: some groups with counts, some processes. */
static int one_sample(struct in *in, struct growth *g, struct model_group *mg,
		      size_t nkeys, struct model_proc *mp, const double *t,
		      size_t k, double when)
{
	struct group groups[NKEYS];
	struct group_growth gg[NKEYS];
	struct proc_growth pg[NPIDS];
	struct sock_table tab;
	struct audit a;
	uint32_t procs[NPIDS], which[NKEYS];
	uint8_t gmask[(NKEYS + 7) / 8], pmask[(NPIDS + 7) / 8];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(gmask); i++)
		gmask[i] = u8(in);
	for (i = 0; i < sizeof(pmask); i++)
		pmask[i] = u8(in);
	memset(&a, 0, sizeof(a));
	table_init(&tab);
	for (i = 0; i < nkeys; i++) {
		mg[i].v[k] = mg[i].cw[k] = 0;
		if (!(gmask[i / 8] & (1u << (i % 8))))
			continue;
		groups[a.ngroups] = mg[i].key;
		memset(&groups[a.ngroups].n, 0, sizeof(groups[a.ngroups].n));
		groups[a.ngroups].n.sockets = mg[i].v[k] = count(in);
		groups[a.ngroups].n.close_wait = mg[i].cw[k] =
			(uint32_t)(count(in) % ((uint64_t)mg[i].v[k] + 1));
		groups[a.ngroups].n.idle =
			(uint32_t)(count(in) % ((uint64_t)mg[i].v[k] + 1));
		mg[i].present++;
		which[a.ngroups++] = (uint32_t)i;
	}
	a.groups = groups;
	for (i = 0; i < NPIDS; i++) {
		int comm = u8(in) % 3;
		struct proc_rec *p;
		uint32_t pi;
		uint8_t f;

		if (!(pmask[i / 8] & (1u << (i % 8))))
			continue;
		pi = table_add_proc(&tab, mp[i].pid, comms[comm], strlen(comms[comm]));
		if (pi == NO_INDEX)
			goto out;
		p = &tab.procs[pi];
		f = u8(in);
		p->fds = count(in);
		p->sockets = count(in);
		p->has_fd_limit = f & 1;
		p->fd_limit = f & 2 ? FD_LIMIT_NONE : count(in);
		if (mp[i].n && mp[i].comm != comm)
			mp[i].n = 0;
		if (!mp[i].n)
			mp[i].comm = comm;
		mp[i].t[mp[i].n] = t[k];
		mp[i].fds[mp[i].n] = p->fds;
		mp[i].socks[mp[i].n] = p->sockets;
		mp[i].n++;
		procs[a.nprocs++] = pi;
	}
	a.procs = procs;
	rc = growth_add(g, &tab, &a, when, gg, pg);
	if (rc) {
		table_free(&tab);
		return rc;
	}
	for (i = 0; i < a.ngroups; i++)
		check_group(&mg[which[i]], t, k, &gg[i]);
	for (i = 0; i < a.nprocs; i++) {
		const struct proc_rec *p = &tab.procs[procs[i]];

		check_proc(&mp[p->pid - 1000], p, &pg[i]);
	}
out:
	table_free(&tab);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct model_group mg[NKEYS];
	struct model_proc mp[NPIDS];
	double t[MAX_SAMPLES], when, t0, fast_rate = 0;
	const unsigned char *fname;
	size_t fname_len;
	struct growth g;
	struct group fast;
	size_t nkeys, nsamples, k, i;
	uint8_t b;

	memset(mg, 0, sizeof(mg));
	memset(mp, 0, sizeof(mp));
	for (i = 0; i < NPIDS; i++)
		mp[i].pid = (pid_t)(1000 + i);
	nkeys = build_keys(&in, mg);
	nsamples = 1 + u8(&in) % MAX_SAMPLES;
	/* The clock: CLOCK_MONOTONIC seconds, from boot to a year up. */
	b = u8(&in);
	t0 = b & 1 ? (double)u16(&in) * 512 : u16(&in) / 100.0;
	growth_init(&g);
	when = t0;
	for (k = 0; k < nsamples; k++) {
		if (k)
			when = next_time(&in, when);
		/* Minutes since sample 0, as growth.c counts them. */
		t[k] = (when - t0) / 60.0;
		if (one_sample(&in, &g, mg, nkeys, mp, t, k, when))
			break;
	}
	if (k == nsamples && growth_fastest(&g, &fast, &fname, &fname_len, &fast_rate)) {
		bool known = false;

		if (nsamples < 2 || !isfinite(fast_rate))
			abort();
		for (i = 0; i < nkeys && !known; i++)
			known = mg[i].present && key_eq(&mg[i].key, &fast);
		if (!known)
			abort();
		for (i = 0; i < nkeys; i++) {
			double want = ref_slope(t, mg[i].v, nsamples), ymax = 0;

			for (k = 0; k < nsamples; k++)
				ymax = mg[i].v[k] > ymax ? mg[i].v[k] : ymax;
			if (mg[i].present && want > fast_rate + 1e-6 *
			    (fabs(want) + ymax / t[nsamples - 1]))
				abort();
		}
	} else if (k == nsamples && nsamples >= 2 && g.ngroups) {
		abort();
	}
	growth_free(&g);
	return 0;
}
