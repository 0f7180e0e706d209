/*
 * The seed's mnist workload as a TFORK template.  The template pays for
 * what every classification needs: it loads the ONNX model (mnist.onnx in
 * its working directory, or the file $MNIST_MODEL names), parsed with
 * protobuf-c, finds its input and output tensors (Input3 and
 * Plus214_Output_0 in the model scripts/mnist_model.py makes), takes the
 * initializers and plans every operator (model.c); then it saves.  Each
 * fork takes the name of an image file from its args (host_get_arg), reads
 * it from its disk, runs the model on it and prints the output tensor and
 * the digit (the index of the largest score).
 *
 * A model that cannot be loaded ends the template before it saves, with
 * status 1 and one line saying why: no fork starts.  A missing or
 * unreadable image ends that fork alone with status 2, an image that is
 * not a plain PGM of the model's size with status 3, each with a line on
 * stderr; its siblings are not affected.
 *
 * Images are plain PGM ("P2", as scripts/mnist_model.py writes them):
 * width and height those of the model's input (its last two dimensions,
 * the others 1), pixels scaled to 0..16, the scale of the digits the
 * model learnt.
 *
 * Two more ways to run it, for bench/workloads (the same unit of work,
 * cold), as duktape-js does:
 *  - a plain cVM (not a template, so started from scratch: host_inspect()
 *    is 1 after host_save) classifies the image its args name, as a fork
 *    does; without args it ends at once.
 *  - outside any cVM the hostcalls return -ENOSYS: run as a plain process,
 *    it classifies the image argv[1] names right after loading the model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <intravisor.h>

#include "model.h"

#define IMAGE_MAX 65536
#define PIXEL_MAX 16.0f /* load_digits' scale, the one the model learnt */

static struct model model;

/* ---- images ---- */

/* The next number of a PGM (after blanks and # comments), or -1. */
static long pgm_number(const char **p, const char *end)
{
	const char *s = *p;
	for (;;) {
		while (s < end && (*s == ' ' || (*s >= '\t' && *s <= '\r')))
			s++;
		if (s == end || *s != '#')
			break;
		while (s < end && *s != '\n')
			s++;
	}
	long v = 0;
	const char *start = s;
	while (s < end && *s >= '0' && *s <= '9' && v <= 65535)
		v = v * 10 + (*s++ - '0');
	*p = s;
	int blank_after = s == end || *s == ' ' || *s == '#' || (*s >= '\t' && *s <= '\r');
	return s == start || v > 65535 || !blank_after ? -1 : v;
}

/* Parses the PGM in buf[0..len) into the model's input; NULL or why not. */
static const char *parse_pgm(const char *buf, size_t len, char *why, size_t whylen)
{
	const struct tensor *x = model.input;
	const char *p = buf, *end = buf + len;
	long h = (long)x->dims[x->ndims - 2], w = (long)x->dims[x->ndims - 1];
	if (len < 2 || p[0] != 'P' || p[1] != '2')
		return "it is not a plain PGM (P2)";
	p += 2;
	long iw = pgm_number(&p, end), ih = pgm_number(&p, end), max = pgm_number(&p, end);
	if (iw < 0 || ih < 0 || max <= 0)
		return "its PGM header is not P2 WIDTH HEIGHT MAXVAL";
	if (iw != w || ih != h) {
		snprintf(why, whylen, "it is %ldx%ld; the model takes %ldx%ld", iw, ih, w, h);
		return why;
	}
	for (size_t k = 0; k < x->n; k++) {
		long v = pgm_number(&p, end);
		if (v < 0 || v > max) {
			snprintf(why, whylen, "pixel %zu is missing or not in 0..%ld", k, max);
			return why;
		}
		x->f[k] = (float)v * PIXEL_MAX / (float)max;
	}
	if (pgm_number(&p, end) != -1 || p != end)
		return "it has more than its pixels";
	return NULL;
}

/* Reads the image name into the model's input: 0, or the exit status
 * after a line on stderr (2: cannot read it, 3: not an image). */
static int read_image(const char *name)
{
	static char buf[IMAGE_MAX + 1];
	FILE *f = fopen(name, "re");
	if (!f) {
		fprintf(stderr, "mnist: cannot open image '%s': %s\n", name, strerror(errno));
		return 2;
	}
	size_t n = fread(buf, 1, sizeof(buf), f);
	int bad = ferror(f) ? errno : 0;
	fclose(f);
	if (bad || n > IMAGE_MAX) {
		fprintf(stderr, "mnist: cannot read image '%s': %s\n", name,
			bad ? strerror(bad) : "larger than 64 KiB");
		return 2;
	}
	char why[96];
	const char *err = parse_pgm(buf, n, why, sizeof(why));
	if (err) {
		fprintf(stderr, "mnist: image '%s': %s\n", name, err);
		return 3;
	}
	return 0;
}

/* ---- classification ---- */

static int classify(const char *name)
{
	int rc = read_image(name);
	if (rc)
		return rc;
	model_run(&model);
	const struct tensor *y = model.output;
	char dims[96];
	model_dims(y, dims, sizeof(dims));
	printf("%s %s:", y->name, dims);
	size_t best = 0;
	for (size_t k = 0; k < y->n; k++) {
		printf(" %.4f", y->f[k]);
		if (y->f[k] > y->f[best])
			best = k;
	}
	printf("\ndigit: %zu\n", best);
	return 0;
}

/* The model, its input an image: [1,...,1,H,W].  0 or 1 after a line. */
static int load(const char *path)
{
	char why[256];
	if (model_load(&model, path, why, sizeof(why))) {
		fprintf(stderr, "mnist: cannot load the model '%s': %s\n", path, why);
		return 1;
	}
	const struct tensor *x = model.input, *y = model.output;
	char xd[96], yd[96];
	model_dims(x, xd, sizeof(xd));
	model_dims(y, yd, sizeof(yd));
	int image = x->ndims >= 2;
	for (int d = 0; d + 2 < x->ndims; d++)
		image = image && x->dims[d] == 1;
	if (!image || !y->n) {
		fprintf(stderr, "mnist: cannot use the model '%s': %s\n", path,
			!image ? "its input is not an image ([1,...,1,H,W])"
			       : "its output is empty");
		return 1;
	}
	printf("template: model %s loaded: input %s %s, output %s %s, %zu initializers, %zu "
	       "nodes (%s); saving\n",
	       path, x->name, xd, y->name, yd, model.ninit, model.nsteps, model.ops);
	return 0;
}

int main(int argc, char **argv)
{
	/* Unbuffered: a line is out before any later failure ends the cVM. */
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *path = getenv("MNIST_MODEL");
	if (load(path && path[0] ? path : "mnist.onnx"))
		return 1;

	long r = host_save();
	if (r == -ENOSYS) { /* not in a cVM: a plain process */
		if (argc != 2) {
			fprintf(stderr,
				"mnist: outside a cVM, give the image as the one argument\n");
			return 2;
		}
		return classify(argv[1]);
	}
	if (r < 0) {
		fprintf(stderr, "mnist: host_save failed: %ld\n", r);
		return 1;
	}
	char name[256];
	int got = host_save_arg(name, sizeof(name));
	if (got == 0) /* a template released, or a plain cVM without args */
		return 0;
	if (got < 0) {
		fprintf(stderr, "mnist: give the image file name as args\n");
		return 2;
	}
	printf("get arg: \"%s\"\n", name);
	return classify(name);
}
