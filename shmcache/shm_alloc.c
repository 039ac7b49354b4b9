/* SPDX-License-Identifier: MIT */
/* shm_alloc.c - size-segregated free lists with immediate merging for the table's arena. */
#include <stdlib.h>
#include <string.h>

#include "psm_err.h"
#include "shm_alloc.h"
#include "shm_format.h"

static uint32_t shm_alloc_list(uint32_t n)
{
	return n < SHM_ALLOC_LISTS - 1 ? n : SHM_ALLOC_LISTS - 1;
}

int shm_alloc_init(struct shm_alloc *a, uint32_t units)
{
	uint32_t i;

	memset(a, 0, sizeof(*a));
	a->units = units;
	a->fsize = calloc(units, sizeof(uint32_t));
	a->ftail = calloc(units, sizeof(uint32_t));
	a->next = calloc(units, sizeof(uint32_t));
	a->prev = calloc(units, sizeof(uint32_t));
	for (i = 0; i < SHM_ALLOC_LISTS; i++)
		a->head[i] = SHM_NONE;
	if (a->fsize == NULL || a->ftail == NULL || a->next == NULL || a->prev == NULL) {
		shm_alloc_fini(a);
		return PSM_ENOMEM;
	}
	return PSM_OK;
}

void shm_alloc_fini(struct shm_alloc *a)
{
	free(a->fsize);
	free(a->ftail);
	free(a->next);
	free(a->prev);
	a->fsize = a->ftail = a->next = a->prev = NULL;
}

static void shm_block_link(struct shm_alloc *a, uint32_t u, uint32_t n)
{
	uint32_t l = shm_alloc_list(n);

	a->fsize[u] = n;
	a->ftail[u + n - 1] = n;
	a->prev[u] = SHM_NONE;
	a->next[u] = a->head[l];
	if (a->head[l] != SHM_NONE)
		a->prev[a->head[l]] = u;
	a->head[l] = u;
}

static void shm_block_unlink(struct shm_alloc *a, uint32_t u)
{
	uint32_t n = a->fsize[u];

	if (a->prev[u] != SHM_NONE)
		a->next[a->prev[u]] = a->next[u];
	else
		a->head[shm_alloc_list(n)] = a->next[u];
	if (a->next[u] != SHM_NONE)
		a->prev[a->next[u]] = a->prev[u];
	a->fsize[u] = 0;
	a->ftail[u + n - 1] = 0;
}

/* Takes the free block at u for n units; the rest of it goes back on a list. */
static uint32_t shm_block_take(struct shm_alloc *a, uint32_t u, uint32_t n)
{
	uint32_t size = a->fsize[u];

	shm_block_unlink(a, u);
	if (size > n)
		shm_block_link(a, u + n, size - n);
	a->used += n;
	return u;
}

uint32_t shm_alloc_get(struct shm_alloc *a, uint32_t n)
{
	uint32_t l, u;

	/* every block on list l >= n is big enough: the smallest list that has one wins */
	for (l = shm_alloc_list(n); l < SHM_ALLOC_LISTS; l++) {
		if (a->head[l] != SHM_NONE)
			return shm_block_take(a, a->head[l], n);
	}
	if (a->units - a->bump >= n) {
		u = a->bump;
		a->bump += n;
		a->used += n;
		return u;
	}
	return SHM_NONE;
}

void shm_alloc_put(struct shm_alloc *a, uint32_t u, uint32_t n)
{
	uint32_t left;

	a->used -= n;
	if (u > 0 && a->ftail[u - 1] != 0) {
		left = u - a->ftail[u - 1];
		n += a->fsize[left];
		shm_block_unlink(a, left);
		u = left;
	}
	if (u + n == a->bump) {
		a->bump = u;
		return;
	}
	if (a->fsize[u + n] != 0) {
		uint32_t right = u + n;

		n += a->fsize[right];
		shm_block_unlink(a, right);
	}
	shm_block_link(a, u, n);
}
