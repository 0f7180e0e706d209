/*
 * The features the core serves without knowing them: each registers a
 * struct iv_feature (main() does, in order), and the core calls its hooks
 * at the points of a run they name.
 */
#include <stdlib.h>

#include "iv.h"

static struct iv_feature *features[IV_MAX_FEATURES];
static int nfeatures;

void iv_feature_register(struct iv_feature *f)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i] == f)
			return;
	if (nfeatures == IV_MAX_FEATURES) {
		iv_log("too many features: '%s' is not registered", f->name);
		return;
	}
	f->id = nfeatures;
	features[nfeatures++] = f;
}

void *iv_state(struct iv_cvm *cvm, const struct iv_feature *f)
{
	return cvm->feature[f->id];
}

int iv_features_alloc(struct iv_cvm *cvm)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i]->cvm_size && !(cvm->feature[i] = calloc(1, features[i]->cvm_size)))
			return -1;
	return 0;
}

void iv_features_free(struct iv_cvm *cvm)
{
	for (int i = 0; i < nfeatures; i++) {
		if (cvm->feature[i] && features[i]->free)
			features[i]->free(cvm);
		free(cvm->feature[i]);
		cvm->feature[i] = NULL;
	}
}

int iv_features_start(struct iv_run *run, struct iv_err *err)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i]->start && features[i]->start(run, err))
			return -1;
	return 0;
}

int iv_features_check(const struct iv_cvm_cfg *cfg, struct iv_err *err)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i]->check && features[i]->check(cfg, err))
			return -1;
	return 0;
}

int iv_features_deploy(struct iv_cvm *cvm)
{
	for (int i = 0; i < nfeatures; i++) {
		int r = features[i]->deploy ? features[i]->deploy(cvm) : IV_NOT_MINE;
		if (r != IV_NOT_MINE)
			return r;
	}
	return IV_NOT_MINE;
}

int iv_features_plan(struct iv_cvm *cvm, struct iv_plan *p, int *map_fd, int *extra, int *nextra,
		     struct iv_err *err)
{
	for (int i = 0; i < nfeatures; i++) {
		int r = features[i]->plan ? features[i]->plan(cvm, p, map_fd, extra, nextra, err)
					  : IV_NOT_MINE;
		if (r != IV_NOT_MINE)
			return r;
	}
	return IV_NOT_MINE;
}

int iv_features_layout(struct iv_cvm *cvm, struct iv_plan *p, int *extra, int *nextra,
		       struct iv_err *err)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i]->layout && features[i]->layout(cvm, p, extra, nextra, err))
			return -1;
	return 0;
}

int iv_features_cell(struct iv_cvm *cvm, struct iv_cell_spec *spec, struct iv_err *err)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i]->cell && features[i]->cell(cvm, spec, err))
			return -1;
	return 0;
}

void iv_features_step(struct iv_run *run)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i]->step)
			features[i]->step(run);
}

void iv_features_ended(struct iv_cvm *cvm)
{
	for (int i = 0; i < nfeatures; i++)
		if (features[i]->ended)
			features[i]->ended(cvm);
}

void iv_features_stop(struct iv_run *run)
{
	for (int i = nfeatures - 1; i >= 0; i--)
		if (features[i]->stop)
			features[i]->stop(run);
}
