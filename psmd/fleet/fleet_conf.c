/* SPDX-License-Identifier: MIT */
/* fleet_conf.c - the fleet's own copy of the redis config (a reload frees the daemon's). */
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"

static int fleet_strdup(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return PSM_OK;
	*dst = strdup(src);
	return *dst != NULL ? PSM_OK : PSM_ENOMEM;
}

static int fleet_addr_copy(struct config_redis_addr *d, const struct config_redis_addr *s)
{
	*d = *s;
	d->host = d->unix_path = d->user = NULL;
	if (fleet_strdup(&d->host, s->host) != PSM_OK ||
	    fleet_strdup(&d->unix_path, s->unix_path) != PSM_OK ||
	    fleet_strdup(&d->user, s->user) != PSM_OK)
		return PSM_ENOMEM;
	return PSM_OK;
}

static void fleet_addr_free(struct config_redis_addr *a)
{
	free(a->host);
	free(a->unix_path);
	free(a->user);
}

static int fleet_sentinels_copy(struct config_redis *d, const struct config_redis *s)
{
	d->sentinels = NULL;
	d->nsentinels = 0;
	if (s->nsentinels == 0)
		return PSM_OK;
	d->sentinels = calloc(s->nsentinels, sizeof(*d->sentinels));
	if (d->sentinels == NULL)
		return PSM_ENOMEM;
	for (; d->nsentinels < s->nsentinels; d->nsentinels++)
		if (fleet_addr_copy(&d->sentinels[d->nsentinels], &s->sentinels[d->nsentinels]) !=
		    PSM_OK) {
			d->nsentinels++; /* its partial copy is freed with the rest */
			return PSM_ENOMEM;
		}
	return PSM_OK;
}

int fleet_conf_copy(struct config_redis *d, const struct config_redis *s)
{
	int rc;

	*d = *s;
	d->url = d->master_name = d->read_url = d->password_file = NULL;
	d->key_prefix = d->signing_key = d->trusted_keys = NULL;
	memset(&d->addr, 0, sizeof(d->addr));
	memset(&d->read, 0, sizeof(d->read));
	d->sentinels = NULL;
	d->nsentinels = 0;
	rc = fleet_strdup(&d->url, s->url) | fleet_strdup(&d->master_name, s->master_name) |
	     fleet_strdup(&d->read_url, s->read_url) |
	     fleet_strdup(&d->password_file, s->password_file) |
	     fleet_strdup(&d->key_prefix, s->key_prefix ? s->key_prefix : "psm:") |
	     fleet_strdup(&d->signing_key, s->signing_key) |
	     fleet_strdup(&d->trusted_keys, s->trusted_keys) | fleet_addr_copy(&d->addr, &s->addr) |
	     fleet_addr_copy(&d->read, &s->read) | fleet_sentinels_copy(d, s);
	if (rc != PSM_OK) {
		fleet_conf_free(d);
		return PSM_ENOMEM;
	}
	return PSM_OK;
}

void fleet_conf_free(struct config_redis *c)
{
	free(c->url);
	free(c->master_name);
	free(c->read_url);
	free(c->password_file);
	free(c->key_prefix);
	free(c->signing_key);
	free(c->trusted_keys);
	fleet_addr_free(&c->addr);
	fleet_addr_free(&c->read);
	for (size_t i = 0; i < c->nsentinels; i++)
		fleet_addr_free(&c->sentinels[i]);
	free(c->sentinels);
	memset(c, 0, sizeof(*c));
}

static bool fleet_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool fleet_addr_eq(const struct config_redis_addr *a, const struct config_redis_addr *b)
{
	return fleet_str_eq(a->host, b->host) && a->port == b->port && a->db == b->db &&
	       fleet_str_eq(a->unix_path, b->unix_path) && fleet_str_eq(a->user, b->user);
}

static bool fleet_conf_eq(const struct config_redis *a, const struct config_redis *b)
{
	bool eq = fleet_str_eq(a->url, b->url) && fleet_addr_eq(&a->addr, &b->addr) &&
		  a->nsentinels == b->nsentinels && fleet_str_eq(a->master_name, b->master_name) &&
		  fleet_str_eq(a->read_url, b->read_url) && fleet_addr_eq(&a->read, &b->read) &&
		  a->max_reply == b->max_reply &&
		  fleet_str_eq(a->password_file, b->password_file) &&
		  fleet_str_eq(a->key_prefix, b->key_prefix ? b->key_prefix : "psm:") &&
		  fleet_str_eq(a->signing_key, b->signing_key) &&
		  fleet_str_eq(a->trusted_keys, b->trusted_keys);

	for (size_t i = 0; eq && i < a->nsentinels; i++)
		eq = fleet_addr_eq(&a->sentinels[i], &b->sentinels[i]);
	return eq;
}

bool fleet_same(const struct fleet *f, const struct config_redis *r, const char *host_name)
{
	return r->enabled && strcmp(f->host_name, host_name) == 0 && fleet_conf_eq(&f->cfg, r);
}
