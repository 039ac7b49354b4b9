/* SPDX-License-Identifier: MIT */
/* main.c - psmd: options, setup, then the event loop until SIGTERM. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "log.h"
#include "loop.h"
#include "psmd.h"

struct main_opts {
	const char *conf;
	bool debug;
	bool check;
	bool strict;
};

static void main_usage(FILE *f)
{
	fprintf(f, "usage: psmd [-c FILE] [-d] [-n [--strict]] [-h|--help] [-V|--version]\n"
		   "  -c FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
		   "  -d        also log to stderr\n"
		   "  -n        check configuration and policy, then exit\n"
		   "  --strict  with -n: policy warnings are errors (as strict_policy)\n");
}

/* Returns -1 to go on, else the exit status. */
static int main_parse(int argc, char **argv, struct main_opts *o)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"strict", no_argument, NULL, 'S'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:dnhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->conf = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'n':
			o->check = true;
			break;
		case 'S':
			o->strict = true;
			break;
		case 'h':
			main_usage(stdout);
			return 0;
		case 'V':
			printf("psmd " PSMD_VERSION "\n");
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (o->strict && !o->check) {
		fprintf(stderr, "psmd: --strict goes with -n (or set strict_policy)\n");
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "psmd: unexpected argument \"%s\"\n", argv[optind]);
		main_usage(stderr);
		return 2;
	}
	return -1;
}

static int main_check(struct psmd *d, bool strict)
{
	struct psm_err err = {0};

	log_open(LOG_MODE_STDERR);
	if (daemon_check(d, strict, &err) == PSM_OK)
		return 0;
	log_msg(LOG_ERR, "%s", err.msg);
	return 2;
}

static int main_serve(struct psmd *d, bool debug)
{
	struct psm_err err = {0};
	struct loop l;
	int rc;

	log_open(debug ? LOG_MODE_BOTH : LOG_MODE_SYSLOG);
	rc = loop_init(&l, &err);
	d->loop = &l;
	if (rc == PSM_OK)
		rc = psmd_start(d, &err);
	if (rc != PSM_OK) {
		log_fatal("%s", err.msg);
		loop_free(&l);
		return psm_exit_code(rc);
	}
	rc = psmd_run(d, &l, &err);
	if (rc != PSM_OK)
		log_fatal("%s", err.msg);
	psmd_stop(d);
	loop_free(&l);
	log_close();
	return psm_exit_code(rc);
}

int main(int argc, char **argv)
{
	struct main_opts o = {0};
	struct psmd d;
	int rc = main_parse(argc, argv, &o);

	if (rc >= 0)
		return rc;
	daemon_init(&d, o.conf, o.conf != NULL);
	return o.check ? main_check(&d, o.strict) : main_serve(&d, o.debug);
}
