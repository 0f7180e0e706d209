/* intravisor -y CONFIG.yaml: deploy the config's cVMs and serve them. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "iv.h"

static const char usage[] =
	"usage: intravisor [-v] -y CONFIG.yaml\n"
	"  -y, --yaml FILE   deploy the cVMs described by FILE (capfiles, then cVMs)\n"
	"  -v, --verbose     show the deployment steps: segments, stacks, capabilities\n"
	"  -h, --help        show this help\n"
	"cVM console lines are printed as '[name] text'; the monitor's own lines start with 'MON:'.\n"
	"Exit status: 0 when every cVM ended with status 0, 1 otherwise, 2 for a bad command line\n"
	"or configuration, 128+N when ended by signal N.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"yaml", required_argument, NULL, 'y'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *yaml = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "y:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'y':
			yaml = optarg;
			break;
		case 'v':
			iv_verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!yaml || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}

	struct iv_config cfg;
	struct iv_err err;
	if (iv_config_load(yaml, &cfg, &err)) {
		fprintf(stderr, "intravisor: %s\n", err.msg);
		return 2;
	}
	iv_vlog("Using yaml.cfg = %s", yaml);
	struct iv_run run;
	int status;
	if (iv_run_init(&run, &cfg, &err)) {
		fprintf(stderr, "intravisor: %s\n", err.msg);
		status = 2;
	} else {
		status = iv_run(&run);
	}
	iv_run_free(&run);
	iv_cell_global_fini();
	iv_config_free(&cfg);
	return status;
}
