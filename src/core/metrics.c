/*
 * Metrics: the seed's phases for every cVM.  Plain cVMs and templates:
 * load (ELF to plan), sandbox init (cell, stub, filter, hand-over),
 * workload prepare (start to host_save, templates), snapshot generation
 * (freezing, and writing the image); forks: fork (request to running);
 * restores: restore (image read, checked, planned) and sandbox init; then
 * execute and the total.  A phase that does not apply is left out (null
 * in JSON).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iv.h"

enum { LOAD, RESTORE, SANDBOX, PREPARE, SNAPSHOT, FORK, EXECUTE, TOTAL, NPHASES };

static const char *names[NPHASES] = {
	"load_ms",     "restore_ms", "sandbox_init_ms", "workload_prepare_ms",
	"snapshot_ms", "fork_ms",    "execute_ms",	"total_ms",
};

static double span(uint64_t a, uint64_t b)
{
	return a && b && b >= a ? (double)(b - a) / 1e6 : -1;
}

static const char *kind(const struct iv_cvm *c)
{
	if (c->cfg->resume)
		return c->cfg->snapshot_path ? "restore" : "fork";
	return c->cfg->template_ ? "template" : "plain";
}

static void phases(const struct iv_cvm *c, double *p)
{
	uint64_t end = c->t[IV_T_EXIT] ? c->t[IV_T_EXIT] : c->t[IV_T_DONE];
	for (int i = 0; i < NPHASES; i++)
		p[i] = -1;
	if (c->cfg->resume && !c->cfg->snapshot_path) {
		p[FORK] = span(c->t[IV_T_DEPLOY], c->t[IV_T_RUNNING]);
	} else {
		/* an image restore reads, checks and plans where others load an ELF */
		p[c->cfg->resume ? RESTORE : LOAD] = span(c->t[IV_T_DEPLOY], c->t[IV_T_LOADED]);
		p[SANDBOX] = span(c->t[IV_T_LOADED], c->t[IV_T_RUNNING]);
	}
	if (c->t[IV_T_SAVE]) {
		p[PREPARE] = span(c->t[IV_T_RUNNING], c->t[IV_T_SAVE]);
		p[SNAPSHOT] = span(c->t[IV_T_SAVE], c->t[IV_T_SAVED]);
	} else {
		p[EXECUTE] = span(c->t[IV_T_RUNNING], end);
	}
	p[TOTAL] = span(c->t[IV_T_DEPLOY], c->t[IV_T_DONE]);
}

/* Only cVMs that ran: a deployment that failed said so in one line. */
void iv_metrics_print(const struct iv_run *run, uint64_t t0)
{
	int any = 0;
	for (size_t i = 0; i < run->ncvms; i++) {
		const struct iv_cvm *c = &run->cvms[i];
		double p[NPHASES];
		if (!c->t[IV_T_RUNNING])
			continue;
		any = 1;
		char line[512];
		size_t n = 0;
		phases(c, p);
		for (int k = 0; k < NPHASES && n < sizeof(line); k++) {
			char name[32];
			snprintf(name, sizeof(name), "%.*s", (int)(strlen(names[k]) - 3), names[k]);
			if (p[k] >= 0)
				n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %.3f", name,
						      p[k]);
		}
		iv_log("metrics '%s' (%s, ms):%s", c->cfg->name, kind(c), n ? line : " none");
	}
	if (any)
		iv_log("metrics end-to-end %.3f ms", (double)(iv_now_ns() - t0) / 1e6);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int iv_metrics_write(const struct iv_run *run, uint64_t t0, const char *path, struct iv_err *err)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return iv_fail(err, "--metrics %s: %s", path, strerror(errno));
	fprintf(f, "{\n  \"end_to_end_ms\": %.3f,\n  \"cvms\": [",
		(double)(iv_now_ns() - t0) / 1e6);
	for (size_t i = 0; i < run->ncvms; i++) {
		const struct iv_cvm *c = &run->cvms[i];
		double p[NPHASES];
		phases(c, p);
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		json_str(f, c->cfg->name);
		fprintf(f, ", \"kind\": \"%s\", \"ok\": %s", kind(c),
			iv_cvm_ok(c) ? "true" : "false");
		for (int k = 0; k < NPHASES; k++) {
			if (p[k] >= 0)
				fprintf(f, ", \"%s\": %.3f", names[k], p[k]);
			else
				fprintf(f, ", \"%s\": null", names[k]);
		}
		fputc('}', f);
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f))
		return iv_fail(err, "--metrics %s: %s", path, strerror(errno));
	return 0;
}
