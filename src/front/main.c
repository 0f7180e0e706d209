/* intravisor -y CONFIG.yaml: deploy the config's cVMs and serve them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "basic/basic.h"
#include "capfile/capfile.h"
#include "channel/channel.h"
#include "image/image.h"
#include "iv.h"
#include "nested/nested.h"
#include "net/net.h"
#include "tfork/tfork.h"

static const char usage[] =
	"usage: intravisor [-v] [--metrics FILE] [--pool N] -y CONFIG.yaml\n"
	"       intravisor --ids -y CONFIG.yaml\n"
	"  -y, --yaml FILE      deploy the cVMs described by FILE (capfiles, then cVMs)\n"
	"  -v, --verbose        show the deployment steps: segments, stacks, capabilities\n"
	"  -m, --metrics FILE   also write each cVM's phases (as printed at exit) as JSON\n"
	"  -p, --pool N         make the cells of the next N cVMs ahead of their deploy, 0 to 64\n"
	"                       (default: $IV_POOL, else 0; README \"Warm cells\")\n"
	"  -i, --ids            print each cVM's name, uid and gid (the owner its disk needs),\n"
	"                       start nothing\n"
	"  -h, --help           show this help\n"
	"cVM output lines are printed as '[name] text' (its stdout on stdout, its stderr on "
	"stderr);\n"
	"the monitor's own lines start with 'MON:' and go to stderr.\n"
	"Exit status: 0 when every cVM ended with status 0, 1 otherwise, 2 for a bad command "
	"line,\n"
	"configuration or runtime image (nothing starts), 128+N when ended by signal N.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"yaml", required_argument, NULL, 'y'},
		{"verbose", no_argument, NULL, 'v'},
		{"metrics", required_argument, NULL, 'm'},
		{"ids", no_argument, NULL, 'i'},
		{"pool", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t t0 = iv_now_ns();
	const char *yaml = NULL, *metrics = NULL, *pool = getenv("IV_POOL");
	int c, ids = 0, pool_size = 0;
	/* fds 0-2 are the monitor's stdin, stdout, stderr, never a file of its
	 * own: a cVM may be given its stdin */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return 2;
	while ((c = getopt_long(argc, argv, "y:vm:ihp:", opts, NULL)) != -1) {
		switch (c) {
		case 'y':
			yaml = optarg;
			break;
		case 'm':
			metrics = optarg;
			break;
		case 'v':
			iv_verbose = 1;
			break;
		case 'i':
			ids = 1;
			break;
		case 'p':
			pool = optarg;
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
	if (pool && *pool) {
		char *end;
		long n = strtol(pool, &end, 10);
		if (*end || n < 0 || n > 64) {
			fprintf(stderr,
				"intravisor: --pool (or IV_POOL): expected 0 to 64, got '%s'\n",
				pool);
			return 2;
		}
		pool_size = (int)n;
	}

	/* The features, each after those it builds on; a new one is one line. */
	iv_feature_register(&iv_feature_basic);
	iv_feature_register(&iv_feature_access);
	iv_feature_register(&iv_feature_capfile);
	iv_feature_register(&iv_feature_channel);
	iv_feature_register(&iv_feature_tfork);
	iv_feature_register(&iv_feature_image);
	iv_feature_register(&iv_feature_net);
	iv_feature_register(&iv_feature_nested);

	struct iv_config cfg;
	struct iv_err err;
	if (ids) {
		if (iv_config_read(yaml, &cfg, &err)) {
			fprintf(stderr, "intravisor: %s\n", err.msg);
			return 2;
		}
		for (size_t i = 0; i < cfg.ncvms; i++)
			printf("%s %u %u\n", cfg.cvms[i].name, (unsigned)cfg.cvms[i].uid,
			       (unsigned)cfg.cvms[i].gid);
		iv_config_free(&cfg);
		return 0;
	}
	if (iv_config_load(yaml, &cfg, &err)) {
		fprintf(stderr, "intravisor: %s\n", err.msg);
		return 2;
	}
	iv_vlog("Using yaml.cfg = %s", yaml);
	/* A bad image anywhere in the config: nothing is started. */
	for (size_t i = 0; i < cfg.ncvms; i++)
		if (iv_cvm_check(&cfg.cvms[i], &err)) {
			fprintf(stderr, "intravisor: %s: %s\n", yaml, err.msg);
			iv_config_free(&cfg);
			return 2;
		}
	struct iv_run run;
	int status;
	if (iv_run_init(&run, &cfg, &err)) {
		fprintf(stderr, "intravisor: %s\n", err.msg);
		status = 2;
	} else {
		run.pool_size = pool_size;
		status = iv_run(&run);
		/* one cVM: its own status, as a shell's for its program */
		if (status == 1 && run.ncvms == 1)
			status = iv_cvm_status(&run.cvms[0]);
		iv_metrics_print(&run, t0);
		if (metrics && iv_metrics_write(&run, t0, metrics, &err)) {
			fprintf(stderr, "intravisor: %s\n", err.msg);
			status = status ? status : 1;
		}
	}
	iv_run_free(&run);
	iv_cell_global_fini();
	iv_config_free(&cfg);
	return status;
}
