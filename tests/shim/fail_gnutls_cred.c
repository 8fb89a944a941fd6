/*
 * LD_PRELOAD shim: gnutls_credentials_set fails on a session it was
 * already called for.  libmicrohttpd sets its own credentials on each
 * new TLS session first; the exporter's second call (exporter_web_notify,
 * the current web config's credentials) then fails with
 * GNUTLS_E_MEMORY_ERROR, the failure test_webconfig's fail-closed test
 * needs.  Every first call is the real one.
 */
#include <dlfcn.h>
#include <gnutls/gnutls.h>

int gnutls_credentials_set(gnutls_session_t s, gnutls_credentials_type_t type, void *cred)
{
	static int (*real)(gnutls_session_t, gnutls_credentials_type_t, void *);
	static gnutls_session_t last;

	if (s == last)
		return GNUTLS_E_MEMORY_ERROR;
	last = s;
	if (!real)
		real = (int (*)(gnutls_session_t, gnutls_credentials_type_t, void *))dlsym(
			RTLD_NEXT, "gnutls_credentials_set");
	return real ? real(s, type, cred) : GNUTLS_E_INTERNAL_ERROR;
}
