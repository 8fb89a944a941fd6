/*
 * The growable array (see vec.h).
 */
#include "vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vec_reserve(void *arrp, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *old, *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (!size || ncap > SIZE_MAX / size)
		return -ENOMEM;
	/* The pointer is copied, not cast: arrp points to a T *. */
	memcpy(&old, arrp, sizeof(old));
	p = realloc(old, ncap * size);
	if (!p)
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = ncap;
	return 0;
}
