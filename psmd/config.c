/* SPDX-License-Identifier: MIT */
/* config.c - reads psmd.conf (JSON with comments) over the defaults and validates every key. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "json_doc.h"

/* How a string value is checked. */
enum config_check {
	CHECK_PATH,   /* absolute path */
	CHECK_SOCKET, /* absolute path that fits sun_path */
	CHECK_SHM,    /* shm object name */
	CHECK_NAME,   /* group, host name or label: [A-Za-z0-9._-]+ */
	CHECK_HOST,   /* CHECK_NAME, at most CONFIG_HOST_NAME_MAX */
	CHECK_PREFIX, /* printable, no spaces, 1..64 bytes */
	CHECK_ANY,    /* session_expiry, url: checked by their own code */
};

struct config_str_key {
	const char *key;
	size_t off;    /* offset of the char * field */
	int check;     /* enum config_check */
	bool nullable; /* null means "off" */
};

/* clang-format off */
#define CFG_KEY(k, check, nullable) { #k, offsetof(struct psmd_config, k), check, nullable }
#define RDS_KEY(k, check, nullable) { #k, offsetof(struct config_redis, k), check, nullable }

static const struct config_str_key config_str_keys[] = {
	CFG_KEY(shm_name, CHECK_SHM, false),
	CFG_KEY(socket, CHECK_SOCKET, false),
	CFG_KEY(state_dir, CHECK_PATH, false),
	CFG_KEY(policy, CHECK_PATH, false),
	CFG_KEY(admin_group, CHECK_NAME, false),
	CFG_KEY(table_group, CHECK_NAME, false),
	CFG_KEY(metrics_file, CHECK_PATH, true),
	CFG_KEY(host_name, CHECK_HOST, false),
};

static const struct config_str_key redis_str_keys[] = {
	RDS_KEY(url, CHECK_ANY, false),
	RDS_KEY(read_url, CHECK_ANY, true),
	RDS_KEY(master_name, CHECK_NAME, false),
	RDS_KEY(password_file, CHECK_PATH, true),
	RDS_KEY(key_prefix, CHECK_PREFIX, false),
	RDS_KEY(signing_key, CHECK_PATH, true),
	RDS_KEY(trusted_keys, CHECK_PATH, true),
};

static const char *const config_keys[] = {
	"shm_name", "socket", "state_dir", "policy", "admin_group", "table_group", "capacity",
	"max_records", "metrics_file", "session_expiry", "host_name", "labels", "redis",
	"strict_policy", NULL,
};

static const char *const redis_keys[] = {
	"url", "sentinels", "master_name", "read_url", "password_file", "key_prefix",
	"signing_key", "trusted_keys", "max_reply", NULL,
};

/* Keys whose null means "off"; any other null is a type error. */
static const char *const config_nullable[] = { "metrics_file", "redis", NULL };
static const char *const redis_nullable[] = {
	"read_url", "password_file", "signing_key", "trusted_keys", NULL,
};
/* clang-format on */

static bool config_in(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* The json_doc getters take null as absent; here only nullable keys may be null. */
static int config_nulls(const struct json_doc *d, const cJSON *obj, const char *const *nullable,
			struct psm_err *err)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj)
	{
		if (cJSON_IsNull(m) && !config_in(m->string, nullable))
			return json_doc_error(d, m, err, "%s: expected a value, not null",
					      m->string);
	}
	return PSM_OK;
}

/* Replaces *dst by a copy of val (NULL allowed). */
static int config_set(char **dst, const char *val, struct psm_err *err)
{
	char *copy = NULL;

	if (val != NULL) {
		copy = strdup(val);
		if (copy == NULL)
			return psm_err_set(err, PSM_ENOMEM, "configuration: out of memory");
	}
	free(*dst);
	*dst = copy;
	return PSM_OK;
}

static bool config_chars_ok(const char *s, const char *extra)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		bool alnum = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			     (*s >= '0' && *s <= '9');

		if (!alnum && strchr(extra, *s) == NULL)
			return false;
	}
	return true;
}

bool config_shm_name_ok(const char *name)
{
	size_t len = strlen(name);

	return name[0] == '/' && len >= 2 && len <= 201 && config_chars_ok(name + 1, "._-");
}

static bool config_prefix_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64)
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* NULL when v passes check, else what is wrong with it. */
static const char *config_check_value(const char *v, int check)
{
	switch (check) {
	case CHECK_PATH:
		return v[0] == '/' ? NULL : "must be an absolute path";
	case CHECK_SOCKET:
		if (v[0] != '/')
			return "must be an absolute path";
		return strlen(v) < sizeof(((struct sockaddr_un *)0)->sun_path)
			   ? NULL
			   : "is too long for a unix socket path";
	case CHECK_SHM:
		return config_shm_name_ok(v)
			   ? NULL
			   : "must be \"/\" followed by 1 to 200 of A-Z a-z 0-9 . _ -";
	case CHECK_NAME:
		return config_chars_ok(v, "._-") ? NULL : "must be 1 or more of A-Z a-z 0-9 . _ -";
	case CHECK_HOST:
		if (strlen(v) > CONFIG_HOST_NAME_MAX)
			return "is longer than 63 bytes";
		return config_chars_ok(v, "._-") ? NULL : "must be 1 or more of A-Z a-z 0-9 . _ -";
	case CHECK_PREFIX:
		return config_prefix_ok(v) ? NULL : "must be 1 to 64 bytes without spaces";
	default:
		return NULL;
	}
}

/* Reads the string keys of table keys[] from obj into the struct at base. */
static int config_strings(const struct json_doc *d, const cJSON *obj,
			  const struct config_str_key *keys, size_t n, void *base,
			  struct psm_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct config_str_key *k = &keys[i];
		const cJSON *node = cJSON_GetObjectItemCaseSensitive(obj, k->key);
		char **dst = (char **)(void *)((char *)base + k->off);
		const char *v = NULL, *bad;
		int rc;

		if (node == NULL)
			continue;
		if (k->nullable && cJSON_IsNull(node)) {
			free(*dst);
			*dst = NULL;
			continue;
		}
		rc = json_doc_string(d, obj, k->key, false, &v, err);
		if (rc != PSM_OK)
			return rc;
		bad = config_check_value(v, k->check);
		if (bad != NULL)
			return json_doc_error(d, node, err, "%s: \"%s\" %s", k->key, v, bad);
		rc = config_set(dst, v, err);
		if (rc != PSM_OK)
			return rc;
	}
	return PSM_OK;
}

/* A whole-number key from min to max over *out. */
static int config_range(const struct json_doc *d, const cJSON *obj, const char *key, uint64_t min,
			uint64_t max, uint64_t *out, struct psm_err *err)
{
	uint64_t v = *out;
	int rc = json_doc_uint(d, obj, key, false, max, &v, err);

	if (rc != PSM_OK)
		return rc;
	if (v < min)
		return json_doc_error(d, cJSON_GetObjectItemCaseSensitive(obj, key), err,
				      "%s: expected a whole number from %llu to %llu", key,
				      (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return PSM_OK;
}

/* A count key from 1 to CONFIG_CAPACITY_MAX ("capacity", "max_records") over *out. */
static int config_count(const struct json_doc *d, const cJSON *root, const char *key, uint64_t *out,
			struct psm_err *err)
{
	return config_range(d, root, key, 1, CONFIG_CAPACITY_MAX, out, err);
}

static int config_expiry(const struct json_doc *d, const cJSON *root, struct psmd_config *c,
			 struct psm_err *err)
{
	const char *v = NULL;
	int rc = json_doc_string(d, root, "session_expiry", false, &v, err);

	if (rc != PSM_OK || v == NULL)
		return rc;
	if (strcmp(v, "forget") == 0)
		c->session_expiry = CONFIG_EXPIRY_FORGET;
	else if (strcmp(v, "kill") == 0)
		c->session_expiry = CONFIG_EXPIRY_KILL;
	else
		return json_doc_error(d, cJSON_GetObjectItemCaseSensitive(root, "session_expiry"),
				      err, "session_expiry: \"%s\" must be \"forget\" or \"kill\"",
				      v);
	return PSM_OK;
}

static void config_free_labels(struct psmd_config *c)
{
	for (size_t i = 0; c->labels != NULL && i < c->nlabels; i++)
		free(c->labels[i]);
	free(c->labels);
	c->labels = NULL;
	c->nlabels = 0;
}

/* Allocates an empty NULL-terminated label list with room for n labels. */
static int config_labels_alloc(struct psmd_config *c, size_t n, struct psm_err *err)
{
	config_free_labels(c);
	c->labels = calloc(n + 1, sizeof(*c->labels));
	if (c->labels == NULL)
		return psm_err_set(err, PSM_ENOMEM, "configuration: out of memory");
	return PSM_OK;
}

static int config_labels(const struct json_doc *d, const cJSON *root, struct psmd_config *c,
			 struct psm_err *err)
{
	const cJSON *arr = NULL, *item;
	int rc = json_doc_strings(d, root, "labels", false, &arr, err);

	if (rc != PSM_OK || arr == NULL)
		return rc;
	if (cJSON_GetArraySize(arr) > CONFIG_LABELS_MAX)
		return json_doc_error(d, cJSON_GetObjectItemCaseSensitive(root, "labels"), err,
				      "labels: more than %d labels", CONFIG_LABELS_MAX);
	rc = config_labels_alloc(c, (size_t)cJSON_GetArraySize(arr), err);
	cJSON_ArrayForEach(item, arr)
	{
		if (rc != PSM_OK)
			return rc;
		if (config_check_value(item->valuestring, CHECK_NAME) != NULL)
			return json_doc_error(
			    d, item, err, "labels: \"%s\" must be 1 or more of A-Z a-z 0-9 . _ -",
			    item->valuestring);
		rc = config_set(&c->labels[c->nlabels], item->valuestring, err);
		if (rc == PSM_OK)
			c->nlabels++;
	}
	return rc;
}

static bool config_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *config_oom(struct psm_err *err)
{
	psm_err_set(err, PSM_ENOMEM, "configuration: out of memory");
	return "";
}

/* Copies s[0..n) into *dst; NULL when it is a name ([A-Za-z0-9._-]+), else what is wrong. */
static const char *config_redis_name(char **dst, const char *s, size_t n, const char *what,
				     struct psm_err *err)
{
	free(*dst);
	*dst = strndup(s, n);
	if (*dst == NULL)
		return config_oom(err);
	return config_chars_ok(*dst, "._-") ? NULL : what;
}

/* ":port" at *s (optional); advances *s past it. */
static const char *config_redis_port(struct config_redis_addr *a, const char **s)
{
	unsigned long port;
	char *end;

	if (**s != ':')
		return NULL;
	port = strtoul(*s + 1, &end, 10);
	if (!config_digit((*s)[1]) || port < 1 || port > 65535)
		return "has a bad port";
	a->port = (unsigned)port;
	*s = end;
	return NULL;
}

/* "/db" at s (optional), then the end. */
static const char *config_redis_db(struct config_redis_addr *a, const char *s)
{
	unsigned long db;
	char *end;

	if (*s == '/' && s[1] != '\0') {
		db = strtoul(s + 1, &end, 10);
		if (!config_digit(s[1]) || *end != '\0' || db > 9999)
			return "has a bad database number";
		a->db = (unsigned)db;
		s = end;
	}
	return *s == '\0' || strcmp(s, "/") == 0 ? NULL : "has trailing text";
}

/* "[user@]host[:port][/db]" after "redis://", or (url false) a sentinel's "host[:port]". */
static const char *config_redis_hostport(struct config_redis_addr *a, const char *s, bool url,
					 struct psm_err *err)
{
	const char *at = url ? strchr(s, '@') : NULL, *bad;
	size_t hlen;

	if (at != NULL) {
		bad = config_redis_name(&a->user, s, (size_t)(at - s), "has a bad user name", err);
		if (bad != NULL)
			return bad;
		s = at + 1;
	}
	hlen = strcspn(s, ":/");
	if (hlen == 0 || hlen > 255)
		return "has no host";
	bad = config_redis_name(&a->host, s, hlen, "has a bad host name", err);
	if (bad == NULL)
		s += hlen;
	if (bad == NULL)
		bad = config_redis_port(a, &s);
	if (bad == NULL && !url && *s != '\0')
		bad = "must be host:port";
	if (bad == NULL && url)
		bad = config_redis_db(a, s);
	return bad;
}

/* NULL when u is "redis://[user@]host[:port][/db]" or "unix:///path", else what is wrong. */
static const char *config_redis_url(const char *u, struct config_redis_addr *a, struct psm_err *err)
{
	a->port = CONFIG_REDIS_PORT;
	a->db = 0;
	if (strncmp(u, "redis://", 8) == 0)
		return config_redis_hostport(a, u + 8, true, err);
	if (strncmp(u, "unix://", 7) != 0)
		return "must be redis://[user@]host:port/db or unix:///path";
	if (config_check_value(u + 7, CHECK_SOCKET) != NULL)
		return "must name an absolute socket path (unix:///path)";
	a->unix_path = strdup(u + 7);
	return a->unix_path == NULL ? config_oom(err) : NULL;
}

static void config_addr_free(struct config_redis_addr *a)
{
	free(a->host);
	free(a->unix_path);
	free(a->user);
	memset(a, 0, sizeof(*a));
}

static void config_redis_free(struct config_redis *r)
{
	config_addr_free(&r->addr);
	config_addr_free(&r->read);
	for (size_t i = 0; i < r->nsentinels; i++)
		config_addr_free(&r->sentinels[i]);
	free(r->sentinels);
	r->sentinels = NULL;
	r->nsentinels = 0;
}

/* Parses the url-like key (url or read_url) into a; "" or NULL url: nothing to do. */
static int config_redis_url_key(const struct json_doc *d, const cJSON *obj, const char *key,
				const char *url, struct config_redis_addr *a, struct psm_err *err)
{
	struct psm_err e = {0};
	const char *bad;

	if (url == NULL)
		return PSM_OK;
	bad = config_redis_url(url, a, &e);
	if (e.code != PSM_OK)
		return psm_err_set(err, e.code, "%s", e.msg);
	if (bad != NULL)
		return json_doc_error(d, cJSON_GetObjectItemCaseSensitive(obj, key), err,
				      "redis.%s: \"%s\" %s", key, url, bad);
	return PSM_OK;
}

/* "sentinels": 1 to CONFIG_SENTINELS_MAX "host[:port]" strings. */
static int config_sentinels(const struct json_doc *d, const cJSON *obj, struct config_redis *r,
			    struct psm_err *err)
{
	const cJSON *arr = NULL, *item;
	struct psm_err e = {0};
	const char *bad;
	int rc = json_doc_strings(d, obj, "sentinels", false, &arr, err), n;

	if (rc != PSM_OK || arr == NULL)
		return rc;
	n = cJSON_GetArraySize(arr);
	if (n < 1 || n > CONFIG_SENTINELS_MAX)
		return json_doc_error(d, cJSON_GetObjectItemCaseSensitive(obj, "sentinels"), err,
				      "redis.sentinels: expected 1 to %d \"host:port\" strings",
				      CONFIG_SENTINELS_MAX);
	r->sentinels = calloc((size_t)n, sizeof(*r->sentinels));
	if (r->sentinels == NULL)
		return psm_err_set(err, PSM_ENOMEM, "configuration: out of memory");
	cJSON_ArrayForEach(item, arr)
	{
		struct config_redis_addr *a = &r->sentinels[r->nsentinels++];

		a->port = CONFIG_SENTINEL_PORT;
		bad = config_redis_hostport(a, item->valuestring, false, &e);
		if (e.code != PSM_OK)
			return psm_err_set(err, e.code, "%s", e.msg);
		if (bad != NULL)
			return json_doc_error(d, item, err, "redis.sentinels: \"%s\" %s",
					      item->valuestring, bad);
	}
	return PSM_OK;
}

/* Exactly one of url and sentinels; master_name with sentinels only. */
static int config_redis_source(const struct json_doc *d, const cJSON *obj,
			       const struct config_redis *r, struct psm_err *err)
{
	const cJSON *sent = cJSON_GetObjectItemCaseSensitive(obj, "sentinels");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "master_name");

	if (r->url != NULL && sent != NULL)
		return json_doc_error(d, sent, err,
				      "redis.sentinels: goes without \"url\" (use one of them)");
	if (r->url == NULL && sent == NULL)
		return json_doc_error(d, cJSON_GetObjectItemCaseSensitive(d->root, "redis"), err,
				      "redis: needs \"url\" or \"sentinels\"");
	if (sent != NULL && r->master_name == NULL)
		return json_doc_error(d, sent, err, "redis.sentinels: needs \"master_name\"");
	if (sent == NULL && name != NULL)
		return json_doc_error(d, name, err, "redis.master_name: goes with \"sentinels\"");
	return PSM_OK;
}

/* The keys of the redis object that are not plain strings, and how they go together. */
static int config_redis_parts(const struct json_doc *d, const cJSON *obj, struct config_redis *r,
			      struct psm_err *err)
{
	int rc = config_sentinels(d, obj, r, err);

	if (rc == PSM_OK)
		rc = config_redis_source(d, obj, r, err);
	if (rc == PSM_OK)
		rc = config_redis_url_key(d, obj, "url", r->url, &r->addr, err);
	if (rc == PSM_OK)
		rc = config_redis_url_key(d, obj, "read_url", r->read_url, &r->read, err);
	if (rc == PSM_OK)
		rc = config_range(d, obj, "max_reply", CONFIG_MAX_REPLY_MIN, CONFIG_MAX_REPLY_MAX,
				  &r->max_reply, err);
	return rc;
}

static int config_redis(const struct json_doc *d, const cJSON *root, struct psmd_config *c,
			struct psm_err *err)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "redis");
	int rc;

	if (obj == NULL || cJSON_IsNull(obj))
		return PSM_OK;
	rc = json_doc_check_keys(d, obj, "redis", redis_keys, err);
	if (rc == PSM_OK)
		rc = config_nulls(d, obj, redis_nullable, err);
	if (rc == PSM_OK)
		rc = config_strings(d, obj, redis_str_keys,
				    sizeof(redis_str_keys) / sizeof(redis_str_keys[0]), &c->redis,
				    err);
	if (rc == PSM_OK)
		rc = config_redis_parts(d, obj, &c->redis, err);
	if (rc == PSM_OK)
		c->redis.enabled = true;
	return rc;
}

static int config_from_doc(const struct json_doc *d, struct psmd_config *c, struct psm_err *err)
{
	int rc = json_doc_check_keys(d, d->root, "configuration", config_keys, err);

	if (rc == PSM_OK)
		rc = config_nulls(d, d->root, config_nullable, err);
	if (rc == PSM_OK)
		rc = config_strings(d, d->root, config_str_keys,
				    sizeof(config_str_keys) / sizeof(config_str_keys[0]), c, err);
	if (rc == PSM_OK)
		rc = config_count(d, d->root, "capacity", &c->capacity, err);
	if (rc == PSM_OK)
		rc = config_count(d, d->root, "max_records", &c->max_records, err);
	if (rc == PSM_OK)
		rc = config_expiry(d, d->root, c, err);
	if (rc == PSM_OK)
		rc = config_labels(d, d->root, c, err);
	if (rc == PSM_OK)
		rc = config_redis(d, d->root, c, err);
	if (rc == PSM_OK)
		rc = json_doc_bool(d, d->root, "strict_policy", &c->strict_policy, err);
	if (rc == PSM_OK)
		rc = config_set(&c->file, d->file, err);
	return rc;
}

static int config_default_host(struct psmd_config *c, struct psm_err *err)
{
	char host[256] = "localhost";

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[CONFIG_HOST_NAME_MAX] = '\0';
	return config_set(&c->host_name, host, err);
}

int config_defaults(struct psmd_config *c, struct psm_err *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->capacity = 100000;
	c->max_records = CONFIG_MAX_RECORDS;
	c->session_expiry = CONFIG_EXPIRY_FORGET;
	c->redis.addr.port = CONFIG_REDIS_PORT;
	c->redis.max_reply = CONFIG_MAX_REPLY;
	rc = config_set(&c->shm_name, "/psm", err);
	if (rc == PSM_OK)
		rc = config_set(&c->socket, "/run/psm/psmd.sock", err);
	if (rc == PSM_OK)
		rc = config_set(&c->state_dir, "/var/lib/psm", err);
	if (rc == PSM_OK)
		rc = config_set(&c->policy, "/etc/psm/policy.json", err);
	if (rc == PSM_OK)
		rc = config_set(&c->admin_group, "psm-admin", err);
	if (rc == PSM_OK)
		rc = config_set(&c->table_group, "root", err);
	if (rc == PSM_OK)
		rc = config_set(&c->redis.key_prefix, "psm:", err);
	if (rc == PSM_OK)
		rc = config_default_host(c, err);
	if (rc == PSM_OK)
		rc = config_labels_alloc(c, 0, err);
	if (rc != PSM_OK)
		config_free(c);
	return rc;
}

/* Defaults, then the document's keys; on failure nothing is left to free. */
static int config_apply(struct json_doc *d, struct psmd_config *cfg, struct psm_err *err)
{
	struct psmd_config c;
	int rc = config_defaults(&c, err);

	if (rc == PSM_OK)
		rc = config_from_doc(d, &c, err);
	json_doc_free(d);
	if (rc != PSM_OK) {
		config_free(&c);
		return rc;
	}
	*cfg = c;
	return PSM_OK;
}

int config_parse(const char *file, const char *text, size_t len, struct psmd_config *cfg,
		 struct psm_err *err)
{
	struct json_doc d;
	int rc = json_doc_parse(&d, file, text, len, err);

	if (rc != PSM_OK)
		return rc;
	return config_apply(&d, cfg, err);
}

int config_load(const char *path, struct psmd_config *cfg, struct psm_err *err)
{
	struct json_doc d;
	int rc = json_doc_load(&d, path, err);

	if (rc != PSM_OK)
		return rc;
	return config_apply(&d, cfg, err);
}

void config_free(struct psmd_config *c)
{
	char **strs[] = {&c->file,
			 &c->shm_name,
			 &c->socket,
			 &c->state_dir,
			 &c->policy,
			 &c->admin_group,
			 &c->table_group,
			 &c->metrics_file,
			 &c->host_name,
			 &c->redis.url,
			 &c->redis.master_name,
			 &c->redis.read_url,
			 &c->redis.password_file,
			 &c->redis.key_prefix,
			 &c->redis.signing_key,
			 &c->redis.trusted_keys};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	config_free_labels(c);
	config_redis_free(&c->redis);
}
