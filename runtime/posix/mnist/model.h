/*
 * A small ONNX interpreter: enough of ONNX for the mnist workload's model
 * (scripts/mnist_model.py), read with protobuf-c.  model_load does all the
 * work that does not depend on the input: it parses the file, checks the
 * graph, takes the initializers' values into tensors of its own, infers
 * every shape and allocates every tensor; model_run then only computes.
 *
 * Operators (default domain, opset 7..21): Reshape (its shape a constant),
 * Div (numpy broadcasting), Gemm (alpha, beta, transA, transB, optional C),
 * Relu.  Tensors are float, except constants of Reshape's shape (int64).
 */
#ifndef MNIST_MODEL_H
#define MNIST_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_DIMS 8

struct tensor {
	char *name;
	int is_int; /* int64 (i) rather than float (f) */
	int ndims;
	int64_t dims[MODEL_MAX_DIMS];
	size_t n; /* elements: the product of dims */
	float *f;
	int64_t *i;
};

struct step {
	int op;
	struct tensor *in[3]; /* in[2]: Gemm's C, or NULL */
	struct tensor *out;
	float alpha, beta;
	int trans_a, trans_b;
};

struct model {
	struct tensor *t; /* every tensor: initializers, the input, node outputs */
	size_t nt, cap;
	struct step *steps;
	size_t nsteps, ninit;
	struct tensor *input, *output;
	char ops[128]; /* the operators in order, for the template's line */
};

/* Loads the ONNX model at path.  0, or -1 with one line in why. */
int model_load(struct model *m, const char *path, char *why, size_t len);

/* Computes m->output from m->input (whose values the caller sets). */
void model_run(const struct model *m);

/* "[1,1,8,8]" */
void model_dims(const struct tensor *t, char *buf, size_t len);

#endif
