/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmh_time: monotonic milliseconds and deadlines. */
#ifndef VMH_TIME_H
#define VMH_TIME_H

#include <stdint.h>

int64_t vmh_now_ms(void);		/* CLOCK_MONOTONIC */
int64_t vmh_wall_ms(void);		/* CLOCK_REALTIME, for log lines */

/* Milliseconds left until deadline (never negative). */
int64_t vmh_ms_left(int64_t deadline_ms);

/* The part of total kept for something: total/divisor, clamped to
 * [lo, hi], and never more than half of total. */
int64_t vmh_share_ms(int64_t total, int64_t divisor, int64_t lo, int64_t hi);

#endif
