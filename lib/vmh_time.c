/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_time.h"

#include <time.h>

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vmh_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t vmh_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t vmh_ms_left(int64_t deadline_ms)
{
	int64_t left = deadline_ms - vmh_now_ms();

	return left > 0 ? left : 0;
}

int64_t vmh_share_ms(int64_t total, int64_t divisor, int64_t lo, int64_t hi)
{
	int64_t share = total / divisor;

	if (share < lo)
		share = lo;
	if (share > hi)
		share = hi;
	return share < total / 2 ? share : total / 2;
}
