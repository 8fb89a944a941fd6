/*
 * --web-config FILE: TLS and basic authentication for the exporter, in
 * the web configuration format of the Prometheus exporter toolkit
 * (YAML, read with libyaml).  Three steps, so that a test or the fuzzer
 * can run the parser without touching files:
 *
 *   webconfig_parse  bytes -> struct webconfig (no I/O), strict: unknown
 *                    keys, wrong types, bad values are errors;
 *   webconfig_load   reads the certificate, key and CA files it names
 *                    and checks them with GnuTLS (the key matches the
 *                    certificate, the CA file holds certificates);
 *   webconfig_read   both, from a file.
 *
 * Errors: -EINVAL for invalid content (exit status 2; exporter_web_init's
 * -EINVAL, GnuTLS refusing at start what webconfig_load accepted, is
 * status 3), another -errno
 * for a file that cannot be read (status 3), -ENOMEM ("out of
 * memory"), each with a one-line message (without "sockaudit: web
 * config FILE: ") in err: every error return writes err.
 */
#ifndef WEBCONFIG_H
#define WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

/* client_auth_type, the toolkit's values. */
enum webconfig_client_auth {
	WC_NO_CLIENT_CERT,
	WC_REQUEST_CLIENT_CERT,
	WC_REQUIRE_ANY_CLIENT_CERT,
	WC_VERIFY_CLIENT_CERT_IF_GIVEN,
	WC_REQUIRE_AND_VERIFY_CLIENT_CERT,
};

/* min_version, max_version: 0 when not given. */
enum webconfig_tls_version { WC_TLS_ANY, WC_TLS10, WC_TLS11, WC_TLS12, WC_TLS13 };

struct webconfig_user {
	char *name;
	char *hash; /* bcrypt, $2a$, $2b$ or $2y$, checked by crypt_checksalt */
};

/* Checks remembered: SHA-256 of user, password and hash. */
#define WEBCONFIG_CACHE 32
struct webconfig_cache {
	uint8_t key[WEBCONFIG_CACHE][32];
	bool used[WEBCONFIG_CACHE];
	unsigned next;
};

struct webconfig {
	/* tls_server_config; tls is false when it names no certificate. */
	bool tls;
	char *cert_file, *key_file, *client_ca_file;
	enum webconfig_client_auth client_auth;
	enum webconfig_tls_version min_version, max_version;
	/* basic_auth_users; none: no authentication. */
	struct webconfig_user *users;
	size_t nusers;
	size_t costliest; /* the user whose hash has the highest bcrypt cost */
	/* Filled by webconfig_load: the files' bytes (NUL-terminated PEM)
	 * and the GnuTLS priority string for the versions. */
	char *cert_pem, *key_pem, *ca_pem;
	char priorities[96];
	/* Successes and failures apart: failures cannot evict a success. */
	struct webconfig_cache cache, failed;
};

/*
 * Parse a web config of len bytes into *wc (zeroed first).  Returns 0
 * or -EINVAL (message in err, with the YAML line where there is one),
 * -ENOMEM.  No I/O.  webconfig_free releases *wc in every case.
 */
int webconfig_parse(const char *buf, size_t len, struct webconfig *wc, char *err,
		    size_t errlen);

/*
 * Read the files *wc names (a relative path is taken from dir, the web
 * config's directory; NULL: the working directory) and check them.
 * Returns 0, -EINVAL (a key that does not match its certificate, a file
 * that holds no certificate) or the -errno of a file that cannot be
 * read, with a message in err.
 */
int webconfig_load(struct webconfig *wc, const char *dir, char *err, size_t errlen);

/* webconfig_parse and webconfig_load of the file at path. */
int webconfig_read(const char *path, struct webconfig *wc, char *err, size_t errlen);

/* What webconfig_credentials could not do. */
enum webconfig_cred_failure {
	WC_CRED_MEMORY,	  /* allocate the credentials */
	WC_CRED_KEY_PAIR, /* take the certificate and key */
	WC_CRED_CA,	  /* take the CA file */
	WC_CRED_CA_EMPTY, /* the CA file holds no certificate */
};

/*
 * New GnuTLS credentials in *cred holding the certificate and key that
 * webconfig_load read into wc and, when a CA file was given, its
 * certificates as the trusted ones.  Returns 0, or a GnuTLS error code
 * (GNUTLS_E_NO_CERTIFICATE_FOUND for an empty CA file) with *cred NULL
 * and *failed saying which step.
 */
int webconfig_credentials(const struct webconfig *wc,
			  gnutls_certificate_credentials_t *cred,
			  enum webconfig_cred_failure *failed);

void webconfig_free(struct webconfig *wc);

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

/* The text of a client_auth_type value, for messages. */
const char *webconfig_client_auth_name(enum webconfig_client_auth a);

#endif
