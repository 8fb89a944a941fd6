/*
 * --web-config FILE: TLS and basic authentication for the exporter, in
 * the web configuration format of the Prometheus exporter toolkit
 * (YAML, read with libyaml).  Three modules, so that a test or the
 * fuzzer can run the parser without touching files:
 *
 *   webconfig.h        bytes -> struct webconfig (no I/O), strict:
 *                      unknown keys, wrong types, bad values are errors;
 *   webconfig_files.h  reads the web config and the certificate, key and
 *                      CA files it names, and checks them with GnuTLS;
 *   webconfig_auth.h   checks a user and password against
 *                      basic_auth_users.
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
	/* Filled by webconfig_load (webconfig_files.h): the files' bytes
	 * (NUL-terminated PEM) and the GnuTLS priority string for the
	 * versions. */
	char *cert_pem, *key_pem, *ca_pem;
	char priorities[96];
	/* webconfig_check_user's (webconfig_auth.h); successes and failures
	 * apart: failures cannot evict a success. */
	struct webconfig_cache cache, failed;
};

/*
 * Parse a web config of len bytes into *wc (zeroed first).  Returns 0
 * or -EINVAL (message in err, with the YAML line where there is one),
 * -ENOMEM.  No I/O.  webconfig_free releases *wc in every case.
 */
int webconfig_parse(const char *buf, size_t len, struct webconfig *wc, char *err,
		    size_t errlen);

void webconfig_free(struct webconfig *wc);

/* The text of a client_auth_type value, for messages. */
const char *webconfig_client_auth_name(enum webconfig_client_auth a);

/* The name of a TLS version ("TLS12"; "default" for WC_TLS_ANY). */
const char *webconfig_tls_version_name(enum webconfig_tls_version v);

#endif
