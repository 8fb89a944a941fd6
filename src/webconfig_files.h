/*
 * The files of a --web-config: the web config itself, and the
 * certificate, key and CA files it names, read and checked with GnuTLS
 * (the key matches the certificate, the CA file holds certificates).
 * Errors as in webconfig.h.
 */
#ifndef WEBCONFIG_FILES_H
#define WEBCONFIG_FILES_H

#include <gnutls/gnutls.h>

#include "webconfig.h"

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

#endif
