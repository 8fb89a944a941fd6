/*
 * The basic_auth_users check of a --web-config: a user and password
 * against the configured bcrypt hashes, with the results remembered.
 */
#ifndef WEBCONFIG_AUTH_H
#define WEBCONFIG_AUTH_H

#include <stdbool.h>

#include "webconfig.h"

/*
 * Whether user and password are those of a basic_auth_users entry.  The
 * time taken does not depend on which part is wrong: an unknown user
 * is checked against the costliest user's hash, every name is compared
 * and both caches scanned whatever the user, and results are compared
 * in constant time.  Results are remembered in wc->cache and wc->failed
 * (not thread safe: one thread checks), so that a scraper's repeated
 * requests cost one bcrypt, with the right password or a wrong one.
 * True when no users are configured.
 */
bool webconfig_check_user(struct webconfig *wc, const char *user, const char *password);

/* What the caches alone say of user and password (no bcrypt; the same
 * comparisons as webconfig_check_user): known right, known wrong, or
 * not known (webconfig_check_user would run bcrypt).  No users: right. */
enum webconfig_cached { WC_CACHED_RIGHT, WC_CACHED_WRONG, WC_NOT_CACHED };
enum webconfig_cached webconfig_check_cached(struct webconfig *wc, const char *user,
					     const char *password);

#endif
