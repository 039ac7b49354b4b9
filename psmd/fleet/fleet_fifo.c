/* SPDX-License-Identifier: MIT */
/* fleet_fifo.c - a growing ring of fixed-size items: the fleet's in and out queues. */
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"

void fleet_fifo_init(struct fleet_fifo *q, size_t size)
{
	memset(q, 0, sizeof(*q));
	q->size = size;
}

void fleet_fifo_free(struct fleet_fifo *q)
{
	free(q->v);
	fleet_fifo_init(q, q->size);
}

void *fleet_fifo_at(const struct fleet_fifo *q, size_t i)
{
	return (char *)q->v + ((q->head + i) % q->cap) * q->size;
}

/* Doubles the ring, unwrapping it so head is 0. */
static int fleet_fifo_grow(struct fleet_fifo *q)
{
	size_t cap = q->cap ? q->cap * 2 : 64;
	char *v = malloc(cap * q->size);

	if (v == NULL)
		return PSM_ENOMEM;
	for (size_t i = 0; i < q->n; i++)
		memcpy(v + i * q->size, fleet_fifo_at(q, i), q->size);
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	return PSM_OK;
}

int fleet_fifo_push(struct fleet_fifo *q, const void *item)
{
	if (q->n == q->cap && fleet_fifo_grow(q) != PSM_OK)
		return PSM_ENOMEM;
	memcpy((char *)q->v + ((q->head + q->n) % q->cap) * q->size, item, q->size);
	q->n++;
	return PSM_OK;
}

void fleet_fifo_pop(struct fleet_fifo *q, size_t n)
{
	if (n > q->n)
		n = q->n;
	q->head = q->cap ? (q->head + n) % q->cap : 0;
	q->n -= n;
}
