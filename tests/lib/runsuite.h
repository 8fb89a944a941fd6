/*
 * The end of every test program: run a Check suite and turn its result
 * into the program's exit status.
 */
#ifndef RUNSUITE_H
#define RUNSUITE_H

#include <check.h>

/* Run every test of s (CK_NORMAL output), free it; 0 when none failed,
 * else 1. */
int run_suite(Suite *s);

/* Where the recorded inputs are: $TEST_DATA, else "tests/data". */
const char *test_data_dir(void);

#endif
