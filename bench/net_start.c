/*
 * bench/net_start CONFIG.yaml: runs the config's cVMs as the monitor does
 * (the same features, in this process) and prints, per cVM, "NAME CELL
 * GO" in microseconds: CELL from its image planned to its cell handing
 * over its listener (namespaces, the cell, its stub; a networked cVM's
 * namespace, veth and links included), GO from deploy to running (also
 * the memory cgroup move, which waits for an RCU grace period unless one
 * just passed: noise that has nothing to do with the network).  For
 * bench/net.sh.
 */
#include <stdio.h>

#include "basic/basic.h"
#include "capfile/capfile.h"
#include "image/image.h"
#include "iv.h"
#include "net/net.h"
#include "tfork/tfork.h"

int main(int argc, char **argv)
{
	struct iv_config cfg;
	struct iv_run run;
	struct iv_err err;
	if (argc != 2)
		return 2;
	iv_feature_register(&iv_feature_basic);
	iv_feature_register(&iv_feature_capfile);
	iv_feature_register(&iv_feature_tfork);
	iv_feature_register(&iv_feature_image);
	iv_feature_register(&iv_feature_net);
	if (iv_config_load(argv[1], &cfg, &err) || iv_run_init(&run, &cfg, &err)) {
		fprintf(stderr, "net_start: %s\n", err.msg);
		return 1;
	}
	int rc = iv_run(&run);
	for (size_t i = 0; i < run.ncvms; i++) {
		const struct iv_cvm *c = &run.cvms[i];
		printf("%s %.1f %.1f\n", c->cfg->name, (c->t[IV_T_CELL] - c->t[IV_T_LOADED]) / 1e3,
		       (c->t[IV_T_RUNNING] - c->t[IV_T_DEPLOY]) / 1e3);
	}
	iv_run_free(&run);
	iv_cell_global_fini();
	iv_config_free(&cfg);
	return rc;
}
