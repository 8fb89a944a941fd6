/*
 * The files of a web config (see webconfig_files.h): the web config
 * itself, then the certificate, key and CA files it names, read whole
 * and checked with GnuTLS.
 */
#include "webconfig_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.h"

/* Larger files are refused: a web config is a few lines, a PEM file a
 * few kilobytes. */
#define WEBCONFIG_MAX_FILE (1 << 20)

/* A path from the web config, for a message (show: 801 bytes). */
#define SHOWN_PATH(s) text_excerpt((s), 200, show, sizeof(show))

/*
 * The whole file at path (up to WEBCONFIG_MAX_FILE), NUL-terminated, in
 * *out.  Returns its length or -errno (-EFBIG: too large).
 */
static ssize_t read_all(const char *path, char **out)
{
	struct stat st;
	ssize_t n = 0, got = 0;
	char *buf;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		e = -errno;
	else if (!S_ISREG(st.st_mode))
		e = -EISDIR; /* a directory or device: not a file to read */
	else if (st.st_size > WEBCONFIG_MAX_FILE)
		e = -EFBIG;
	else
		e = 0;
	if (e) {
		close(fd);
		return e;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got <= st.st_size) {
		n = read(fd, buf + got, (size_t)(st.st_size + 1 - got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	e = n < 0 ? -errno : 0;
	close(fd);
	if (e || got > st.st_size) {
		free(buf);
		return e ? e : -EFBIG;
	}
	buf[got] = '\0';
	*out = buf;
	return got;
}

/* path, or dir/path when path is relative and dir given, in buf. */
static const char *resolve(const char *dir, const char *path, char *buf, size_t len)
{
	if (!dir || path[0] == '/')
		return path;
	snprintf(buf, len, "%s/%s", dir, path);
	return buf;
}

/* Read the file at one key into *pem.  Returns 0 or -errno with err. */
static int load_file(const char *dir, const char *key, const char *path, char **pem,
		     char *err, size_t errlen)
{
	char full[4096], show[801];
	const char *p = resolve(dir, path, full, sizeof(full));
	ssize_t n = read_all(p, pem);

	if (n >= 0)
		return 0;
	snprintf(err, errlen, "tls_server_config: %s %s: %s", key, SHOWN_PATH(p),
		 n == -EFBIG ? "larger than 1 MiB" : strerror((int)-n));
	/* Too large is invalid content (status 2); a file that cannot be
	 * opened or read, a directory among them, cannot be read (3). */
	return n == -EFBIG ? -EINVAL : (int)n;
}

int webconfig_credentials(const struct webconfig *wc,
			  gnutls_certificate_credentials_t *cred,
			  enum webconfig_cred_failure *failed)
{
	gnutls_datum_t cert = { (unsigned char *)wc->cert_pem, (unsigned)strlen(wc->cert_pem) };
	gnutls_datum_t key = { (unsigned char *)wc->key_pem, (unsigned)strlen(wc->key_pem) };
	int rc;

	*failed = WC_CRED_MEMORY;
	rc = gnutls_certificate_allocate_credentials(cred);
	if (rc < 0) {
		*cred = NULL;
		return rc;
	}
	*failed = WC_CRED_KEY_PAIR;
	rc = gnutls_certificate_set_x509_key_mem2(*cred, &cert, &key, GNUTLS_X509_FMT_PEM,
						  NULL, 0);
	if (rc >= 0 && wc->ca_pem) {
		gnutls_datum_t ca = { (unsigned char *)wc->ca_pem, (unsigned)strlen(wc->ca_pem) };

		*failed = WC_CRED_CA;
		rc = gnutls_certificate_set_x509_trust_mem(*cred, &ca, GNUTLS_X509_FMT_PEM);
		if (rc == 0) {
			*failed = WC_CRED_CA_EMPTY;
			rc = GNUTLS_E_NO_CERTIFICATE_FOUND;
		}
	}
	if (rc < 0) {
		gnutls_certificate_free_credentials(*cred);
		*cred = NULL;
		return rc;
	}
	return 0;
}

/* The message of webconfig_credentials' error rc at step `failed` in
 * err.  Returns -EINVAL, or -ENOMEM. */
static int cred_error(const struct webconfig *wc, int rc,
		      enum webconfig_cred_failure failed, char *err, size_t errlen)
{
	char show[801], show2[801];

	switch (failed) {
	case WC_CRED_MEMORY:
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	case WC_CRED_KEY_PAIR:
		if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
			snprintf(err, errlen, "tls_server_config: key_file %s does not "
				 "match cert_file %s", SHOWN_PATH(wc->key_file),
				 text_excerpt(wc->cert_file, 200, show2, sizeof(show2)));
		else
			snprintf(err, errlen, "tls_server_config: cert_file %s, key_file "
				 "%s: %s", SHOWN_PATH(wc->cert_file),
				 text_excerpt(wc->key_file, 200, show2, sizeof(show2)),
				 gnutls_strerror(rc));
		return -EINVAL;
	case WC_CRED_CA:
	case WC_CRED_CA_EMPTY:
		break;
	}
	snprintf(err, errlen, "tls_server_config: client_ca_file %s: %s",
		 SHOWN_PATH(wc->client_ca_file), failed == WC_CRED_CA_EMPTY ?
		 "no certificate in it" : gnutls_strerror(rc));
	return -EINVAL;
}

/*
 * Check the certificate, key and CA with GnuTLS: the key matches the
 * certificate, the CA file holds at least one certificate.  Then the
 * priority string for the versions, checked by gnutls_priority_init.
 */
static int check_pem(struct webconfig *wc, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	enum webconfig_cred_failure failed;
	gnutls_priority_t prio;
	const char *where = NULL;
	int rc, i, lo, hi;

	rc = webconfig_credentials(wc, &cred, &failed);
	if (rc < 0)
		return cred_error(wc, rc, failed, err, errlen);
	gnutls_certificate_free_credentials(cred);
	lo = wc->min_version ? (int)wc->min_version : WC_TLS12;
	hi = wc->max_version ? (int)wc->max_version : WC_TLS13;
	if (lo < WC_TLS10 || hi > WC_TLS13) { /* not from webconfig_parse */
		snprintf(err, errlen, "tls_server_config: invalid TLS versions");
		return -EINVAL;
	}
	rc = snprintf(wc->priorities, sizeof(wc->priorities), "NORMAL:-VERS-ALL");
	for (i = lo; i <= hi; i++)
		rc += snprintf(wc->priorities + rc, sizeof(wc->priorities) - (size_t)rc,
			       ":+VERS-TLS1.%d", i - WC_TLS10);
	rc = gnutls_priority_init(&prio, wc->priorities, &where);
	if (rc < 0) {
		snprintf(err, errlen, "tls_server_config: versions %s to %s: %s",
			 webconfig_tls_version_name((enum webconfig_tls_version)lo),
			 webconfig_tls_version_name((enum webconfig_tls_version)hi),
			 gnutls_strerror(rc));
		return -EINVAL;
	}
	gnutls_priority_deinit(prio);
	return 0;
}

int webconfig_load(struct webconfig *wc, const char *dir, char *err, size_t errlen)
{
	int rc;

	if (errlen)
		err[0] = '\0';
	if (!wc->tls)
		return 0;
	rc = load_file(dir, "cert_file", wc->cert_file, &wc->cert_pem, err, errlen);
	if (!rc)
		rc = load_file(dir, "key_file", wc->key_file, &wc->key_pem, err, errlen);
	if (!rc && wc->client_ca_file)
		rc = load_file(dir, "client_ca_file", wc->client_ca_file, &wc->ca_pem, err,
			       errlen);
	if (!rc)
		rc = check_pem(wc, err, errlen);
	return rc;
}

int webconfig_read(const char *path, struct webconfig *wc, char *err, size_t errlen)
{
	char *buf = NULL, *dir, *slash;
	ssize_t n;
	int rc;

	memset(wc, 0, sizeof(*wc));
	n = read_all(path, &buf);
	if (errlen)
		err[0] = '\0';
	if (n < 0) {
		snprintf(err, errlen, "%s", n == -EFBIG ? "larger than 1 MiB" :
			 strerror((int)-n));
		return n == -EFBIG ? -EINVAL : (int)n;
	}
	rc = webconfig_parse(buf, (size_t)n, wc, err, errlen);
	free(buf);
	if (rc)
		return rc;
	/* Relative paths are the config file's directory's, as in the
	 * toolkit. */
	dir = strdup(path);
	if (!dir) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	rc = webconfig_load(wc, slash ? (slash == dir ? "/" : dir) : NULL, err, errlen);
	free(dir);
	return rc;
}
