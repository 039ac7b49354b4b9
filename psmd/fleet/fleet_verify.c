/* SPDX-License-Identifier: MIT */
/* fleet_verify.c - checks a batch of entries on every core: signature verify and parse. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet_int.h"

#define FLEET_POOL_MAX 3 /* helper threads besides the reader */

/*
 * An Ed25519 verify costs some 50 us, more than everything else a record costs on its
 * way in: a catch-up of 100,000 entries is bound by it.  The reader hands each batch
 * (an XREAD or HSCAN reply) to this pool and works on it too; the results are then
 * queued in feed order by the reader alone.  The pool's threads touch only their jobs.
 */
struct fleet_pool {
	struct fleet *f;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	pthread_t th[FLEET_POOL_MAX];
	size_t nth;
	struct fleet_job *jobs;
	size_t n, next, finished;
	unsigned gen;
	bool stop;
};

static bool fleet_pool_take(struct fleet_pool *p, size_t *i)
{
	bool got;

	pthread_mutex_lock(&p->mu);
	got = p->next < p->n;
	if (got)
		*i = p->next++;
	pthread_mutex_unlock(&p->mu);
	return got;
}

static void fleet_pool_work(struct fleet_pool *p)
{
	size_t i;

	while (fleet_pool_take(p, &i)) {
		struct fleet_job *j = &p->jobs[i];

		if (j->prepared)
			j->res = fleet_entry_check(p->f, &j->e, &j->in, &j->err);
		pthread_mutex_lock(&p->mu);
		if (++p->finished == p->n)
			pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
}

static void *fleet_pool_main(void *arg)
{
	struct fleet_pool *p = arg;
	unsigned seen = 0;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (p->gen == seen) {
			pthread_cond_wait(&p->go, &p->mu);
			continue;
		}
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		fleet_pool_work(p);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct fleet_pool *fleet_pool_start(struct fleet *f)
{
	struct fleet_pool *p = calloc(1, sizeof(*p));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 1 ? (size_t)cpus - 1 : 0;

	if (p == NULL)
		return NULL;
	p->f = f;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (; p->nth < want && p->nth < FLEET_POOL_MAX; p->nth++)
		if (pthread_create(&p->th[p->nth], NULL, fleet_pool_main, p) != 0)
			break; /* fewer helpers: the reader checks more itself */
	return p;
}

void fleet_pool_stop(struct fleet_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void fleet_pool_run(struct fleet_pool *p, struct fleet_job *jobs, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->jobs = jobs;
	p->n = n;
	p->next = p->finished = 0;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	fleet_pool_work(p);
	pthread_mutex_lock(&p->mu);
	while (p->finished < p->n)
		pthread_cond_wait(&p->done, &p->mu);
	p->n = p->next = 0; /* a late helper finds nothing to take */
	pthread_mutex_unlock(&p->mu);
}
