/*
 * The program's one growable array: a pointer, a count and a capacity
 * kept by the caller; vec_reserve makes room, doubling.
 */
#ifndef SOCKAUDIT_VEC_H
#define SOCKAUDIT_VEC_H

#include <stddef.h>

/*
 * Make room for `need` elements of `size` bytes in the array whose
 * pointer is at arrp (a `T **`), of capacity *cap (in elements).
 * Returns 0 or -ENOMEM (the array unchanged).
 */
int vec_reserve(void *arrp, size_t *cap, size_t need, size_t size);

/* Room for one element more than n in array arr (an lvalue) of
 * capacity cap. */
#define VEC_GROW(arr, cap, n) vec_reserve(&(arr), &(cap), (size_t)(n) + 1, sizeof(*(arr)))

#endif
