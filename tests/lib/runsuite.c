/*
 * Running a test program's suite (see runsuite.h).
 */
#include "runsuite.h"

#include <stdlib.h>

int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}

const char *test_data_dir(void)
{
	const char *d = getenv("TEST_DATA");

	return d && *d ? d : "tests/data";
}
