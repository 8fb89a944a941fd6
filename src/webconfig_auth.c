/*
 * The basic_auth_users check (see webconfig_auth.h): bcrypt by the
 * system's crypt (libxcrypt), its results remembered by SHA-256
 * (GnuTLS), every comparison in constant time.
 */
#include "webconfig_auth.h"

#include <crypt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

/* Whether a and b (len bytes) are equal, in time independent of where
 * they differ. */
static bool same_bytes(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* The cache key of a check: SHA-256 of user, password and hash, each
 * followed by a NUL.  Returns 0 or -1. */
static int cache_key(const char *user, const char *password, const char *hash,
		     uint8_t key[32])
{
	size_t lu = strlen(user) + 1, lp = strlen(password) + 1, lh = strlen(hash) + 1;
	char *buf = malloc(lu + lp + lh);
	int rc;

	if (!buf)
		return -1;
	memcpy(buf, user, lu);
	memcpy(buf + lu, password, lp);
	memcpy(buf + lu + lp, hash, lh);
	rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, lu + lp + lh, key);
	explicit_bzero(buf, lu + lp + lh);
	free(buf);
	return rc < 0 ? -1 : 0;
}

/* Whether key is in cache c: every entry compared, in constant time. */
static bool cache_has(const struct webconfig_cache *c, const uint8_t key[32])
{
	bool hit = false;
	size_t i;

	for (i = 0; i < WEBCONFIG_CACHE; i++)
		hit |= c->used[i] && same_bytes(c->key[i], key, 32);
	return hit;
}

static void cache_add(struct webconfig_cache *c, const uint8_t key[32])
{
	memcpy(c->key[c->next], key, 32);
	c->used[c->next] = true;
	c->next = (c->next + 1) % WEBCONFIG_CACHE;
}

/* Whether strings a and b are equal, in time that depends on the length
 * of a (a configured user name) only, not on where they differ. */
static bool same_text(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i < lb ? i : lb]);
	return d == 0;
}

/* What the caches say of user and password, with the user (NULL:
 * unknown), the hash to check against and the cache key (*have_key
 * false when it could not be made). */
static enum webconfig_cached lookup(struct webconfig *wc, const char *user,
				    const char *password, const struct webconfig_user **u,
				    const char **hash, uint8_t key[32], bool *have_key)
{
	size_t found = 0, known = 0, i;
	bool hit_ok, hit_failed;

	for (i = 0; i < wc->nusers; i++) {
		size_t m = (size_t)0 - (size_t)same_text(wc->users[i].name, user);

		found |= m & i;
		known |= m & 1;
	}
	*u = known ? &wc->users[found] : NULL;
	*hash = *u ? (*u)->hash : wc->users[wc->costliest].hash;
	*have_key = cache_key(user, password, *hash, key) == 0;
	hit_ok = *have_key && cache_has(&wc->cache, key);
	hit_failed = *have_key && cache_has(&wc->failed, key);
	if (hit_ok && *u)
		return WC_CACHED_RIGHT;
	return hit_failed ? WC_CACHED_WRONG : WC_NOT_CACHED;
}

enum webconfig_cached webconfig_check_cached(struct webconfig *wc, const char *user,
					     const char *password)
{
	const struct webconfig_user *u;
	const char *hash;
	uint8_t key[32];
	bool have_key;

	if (!wc->nusers)
		return WC_CACHED_RIGHT;
	return lookup(wc, user, password, &u, &hash, key, &have_key);
}

/*
 * bcrypt runs for every check that is not cached, even for an unknown
 * user: against the costliest configured hash (the result then
 * ignored), so the time does not tell which users exist.  For the same
 * reason every user name is compared, in full, and both caches are
 * always scanned (lookup); what was found is combined afterwards.
 * Failures are cached too, apart (a Prometheus with a wrong password
 * would otherwise cost a bcrypt every scrape); a new guess still costs
 * a bcrypt, and what a cached failure's speed tells, the client learnt
 * from its first 401.
 */
bool webconfig_check_user(struct webconfig *wc, const char *user, const char *password)
{
	const struct webconfig_user *u;
	struct crypt_data *cd;
	const char *out, *hash;
	enum webconfig_cached c;
	bool ok = false, have_key;
	uint8_t key[32];

	if (!wc->nusers)
		return true;
	c = lookup(wc, user, password, &u, &hash, key, &have_key);
	if (c != WC_NOT_CACHED)
		return c == WC_CACHED_RIGHT;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	out = crypt_rn(password, hash, cd, sizeof(*cd));
	ok = u && out && strlen(out) == strlen(u->hash) &&
	     same_bytes(out, u->hash, strlen(u->hash));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (have_key)
		cache_add(ok ? &wc->cache : &wc->failed, key);
	return ok;
}
