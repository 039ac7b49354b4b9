/* SPDX-License-Identifier: MIT */
/* fleet_base.c - what every fleet file uses: the clock, the daemon's wake-up, log lines, waits. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet_int.h"

void fleet_key(const struct fleet *f, char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s{fleet}:%s", f->cfg.key_prefix, name);
}

int64_t fleet_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fleet_wake_daemon(struct fleet *f)
{
	uint64_t one = 1;

	if (write(f->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return; /* the counter is full: the daemon is woken already */
}

void fleet_logf(struct fleet *f, int prio, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&f->log_mu);
	if (f->nlogs < FLEET_LOG_MAX) {
		va_start(ap, fmt);
		vsnprintf(f->logs[f->nlogs].line, FLEET_LOG_LEN, fmt, ap);
		va_end(ap);
		f->logs[f->nlogs++].prio = prio;
	} else {
		f->logs_lost++;
	}
	pthread_mutex_unlock(&f->log_mu);
	fleet_wake_daemon(f);
}

bool fleet_wait(struct fleet *f, pthread_cond_t *cond, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	if (!f->stopping)
		pthread_cond_timedwait(cond, &f->mu, &ts);
	return f->stopping;
}

/* mu held.  connected = both threads up; its change time is kept. */
void fleet_set_up(struct fleet *f, bool *up, bool value, const char *addr, const char *role)
{
	bool was = f->st.connected;

	*up = value;
	f->st.connected = f->push_up && f->read_up;
	if (f->st.connected != was)
		f->st.since = fleet_now_ms() / 1000;
	if (addr != NULL && up == &f->push_up)
		snprintf(f->st.addr, sizeof(f->st.addr), "%s", addr);
	if (addr != NULL && up == &f->read_up)
		snprintf(f->st.read_addr, sizeof(f->st.read_addr), "%s", addr);
	if (role != NULL && up == &f->push_up)
		snprintf(f->st.role, sizeof(f->st.role), "%s", value ? role : "");
}
