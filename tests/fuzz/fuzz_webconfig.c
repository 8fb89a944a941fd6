/* libFuzzer target: the --web-config parser (webconfig_parse).
 *
 * The input is the file's bytes.  The parser does no I/O (certificate
 * files are read by webconfig_load, which this target does not call),
 * so any input is safe to feed.  Checked against the contract
 * (webconfig.h, man/sockaudit.8 "Web configuration"):
 *
 *   it returns 0, -EINVAL or -ENOMEM, nothing else;
 *   an error leaves one line of printable text in err;
 *   a success has TLS exactly when it names a certificate, a
 *   certificate only with its key, and every user a non-empty name
 *   without ':' and a 60-byte bcrypt hash ($2a$, $2b$ or $2y$).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const char *err)
{
	const unsigned char *p;

	if (!*err)
		abort();
	for (p = (const unsigned char *)err; *p; p++)
		if (*p == '\n' || *p == '\r')
			abort();
}

static void check_ok(const struct webconfig *wc)
{
	size_t i;

	if (wc->tls != (wc->cert_file != NULL) || !wc->cert_file != !wc->key_file)
		abort();
	if (!wc->tls && (wc->client_ca_file || wc->client_auth != WC_NO_CLIENT_CERT))
		abort();
	for (i = 0; i < wc->nusers; i++) {
		const struct webconfig_user *u = &wc->users[i];

		if (!u->name || !*u->name || strchr(u->name, ':'))
			abort();
		if (!u->hash || strlen(u->hash) != 60 || strncmp(u->hash, "$2", 2))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webconfig wc;
	char err[512] = "";
	int rc;

	rc = webconfig_parse((const char *)data, size, &wc, err, sizeof(err));
	if (rc == 0)
		check_ok(&wc);
	else if (rc == -EINVAL)
		check_err(err);
	else if (rc != -ENOMEM)
		abort();
	webconfig_free(&wc);
	return 0;
}
