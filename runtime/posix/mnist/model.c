/*
 * The ONNX loader and operators of model.h.  The model comes from a file a
 * user gives, so everything in it is checked before it is used: a file
 * protobuf-c cannot unpack, a graph that reads a tensor nothing makes, an
 * operator or attribute this runtime does not know, shapes that do not
 * fit, values that do not match their shape, sizes beyond the limits below
 * each end the load with one line saying what and where.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "onnx.pb-c.h"

#define FILE_MAX   (64L << 20)	     /* bytes of a model file */
#define TENSOR_MAX ((size_t)1 << 24) /* elements of one tensor */
#define TOTAL_MAX  ((size_t)1 << 26) /* elements of all of them */
#define COUNT_MAX  4096		     /* nodes, initializers, inputs */
#define OPSET_MIN  7
#define OPSET_MAX  21

enum { OP_RESHAPE, OP_DIV, OP_GEMM, OP_RELU, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"Reshape", "Div", "Gemm", "Relu"};

struct loader {
	struct model *m;
	char *why;
	size_t len;
	size_t total; /* elements allocated so far */
};

static int fail(struct loader *L, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->why, L->len, fmt, ap);
	va_end(ap);
	/* Names come from the file: keep the message one line of text. */
	for (char *c = L->why; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	return -1;
}

/* Whether name is fit to print: no control characters. */
static int printable(const char *name)
{
	for (; *name; name++)
		if ((unsigned char)*name < ' ' || *name == 0x7f)
			return 0;
	return 1;
}

void model_dims(const struct tensor *t, char *buf, size_t len)
{
	size_t k = (size_t)snprintf(buf, len, "[");
	for (int d = 0; d < t->ndims && k < len; d++)
		k += (size_t)snprintf(buf + k, len - k, "%s%lld", d ? "," : "",
				      (long long)t->dims[d]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
}

/* ---- the file ---- */

static int read_model(struct loader *L, const char *path, uint8_t **buf, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(L, "cannot open it: %s", strerror(errno));
	struct stat st;
	const char *bad = fstat(fd, &st)	  ? strerror(errno)
			  : !S_ISREG(st.st_mode)  ? "not a regular file"
			  : st.st_size <= 0	  ? "the file is empty"
			  : st.st_size > FILE_MAX ? "larger than 64 MiB"
						  : NULL;
	if (bad) {
		close(fd);
		return fail(L, "%s", bad);
	}
	*size = (size_t)st.st_size;
	*buf = malloc(*size);
	size_t got = 0;
	while (*buf && got < *size) {
		ssize_t n = read(fd, *buf + got, *size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (*buf && got == *size)
		return 0;
	free(*buf);
	return fail(L, *buf ? "cannot read it" : "out of memory");
}

/* ---- tensors ---- */

static struct tensor *find(const struct model *m, const char *name)
{
	for (size_t k = 0; k < m->nt; k++)
		if (!strcmp(m->t[k].name, name))
			return &m->t[k];
	return NULL;
}

/* A new tensor named name of that shape, its values zero; NULL after fail. */
static struct tensor *add_tensor(struct loader *L, const char *name, int is_int, int ndims,
				 const int64_t *dims)
{
	struct model *m = L->m;
	if (!name || !name[0])
		return fail(L, "a tensor has no name"), NULL;
	if (!printable(name))
		return fail(L, "tensor '%s' has control characters in its name", name), NULL;
	if (find(m, name))
		return fail(L, "tensor '%s' is defined twice", name), NULL;
	if (ndims < 0 || ndims > MODEL_MAX_DIMS)
		return fail(L, "tensor '%s' has %d dimensions (at most %d)", name, ndims,
			    MODEL_MAX_DIMS),
		       NULL;
	if (m->nt == m->cap)
		return fail(L, "too many tensors"), NULL;
	struct tensor *t = &m->t[m->nt];
	memset(t, 0, sizeof(*t));
	t->n = 1;
	for (int d = 0; d < ndims; d++) {
		if (dims[d] < 0 || (size_t)dims[d] > TENSOR_MAX)
			return fail(L, "tensor '%s' has dimension %lld", name, (long long)dims[d]),
			       NULL;
		t->dims[d] = dims[d];
		t->n *= (size_t)dims[d];
		if (t->n > TENSOR_MAX)
			return fail(L, "tensor '%s' has over %zu elements", name, TENSOR_MAX), NULL;
	}
	L->total += t->n;
	if (L->total > TOTAL_MAX)
		return fail(L, "the model's tensors have over %zu elements in all", TOTAL_MAX),
		       NULL;
	t->ndims = ndims;
	t->is_int = is_int;
	t->name = strdup(name);
	size_t elem = is_int ? sizeof(int64_t) : sizeof(float);
	void *p = calloc(t->n ? t->n : 1, elem);
	if (!t->name || !p)
		return free(t->name), free(p), fail(L, "out of memory"), NULL;
	if (is_int)
		t->i = p;
	else
		t->f = p;
	m->nt++;
	return t;
}

/* ---- initializers and the input ---- */

static int take_values(struct loader *L, struct tensor *t, const Onnx__TensorProto *tp)
{
	size_t elem = t->is_int ? sizeof(int64_t) : sizeof(float);
	size_t have = tp->has_raw_data ? tp->raw_data.len / elem
		      : t->is_int      ? tp->n_int64_data
				       : tp->n_float_data;
	char shape[96];
	model_dims(t, shape, sizeof(shape));
	if (have != t->n || (tp->has_raw_data && tp->raw_data.len % elem))
		return fail(L, "initializer '%s' has %zu values for its shape %s", t->name, have,
			    shape);
	/* raw_data is little-endian, as this machine is. */
	const void *src = tp->has_raw_data ? (const void *)tp->raw_data.data
			  : t->is_int	   ? (const void *)tp->int64_data
					   : (const void *)tp->float_data;
	if (t->n)
		memcpy(t->is_int ? (void *)t->i : (void *)t->f, src, t->n * elem);
	return 0;
}

static int take_initializer(struct loader *L, const Onnx__TensorProto *tp)
{
	const char *name = tp->name ? tp->name : "";
	int type = tp->has_data_type ? tp->data_type : 0;
	if (type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
	    type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
		return fail(L,
			    "initializer '%s' has data type %d (only float and int64 are "
			    "supported)",
			    name, type);
	if (tp->segment || tp->n_external_data ||
	    (tp->has_data_location &&
	     tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT))
		return fail(L, "initializer '%s' is segmented or kept outside the model file",
			    name);
	if (tp->n_dims > MODEL_MAX_DIMS)
		return fail(L, "initializer '%s' has %zu dimensions (at most %d)", name, tp->n_dims,
			    MODEL_MAX_DIMS);
	struct tensor *t = add_tensor(L, name, type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
				      (int)tp->n_dims, tp->dims);
	return t ? take_values(L, t, tp) : -1;
}

/* The graph's input: the one that is not an initializer (older models list
 * initializers among the inputs too).  A float tensor of a fixed shape. */
static int take_input(struct loader *L, const Onnx__GraphProto *g)
{
	const Onnx__ValueInfoProto *in = NULL;
	const char *in_name = "";
	for (size_t k = 0; k < g->n_input; k++) {
		const char *name = g->input[k]->name ? g->input[k]->name : "";
		if (find(L->m, name))
			continue;
		if (in)
			return fail(L,
				    "the graph has two inputs, '%s' and '%s' (the workload "
				    "feeds one)",
				    in_name, name);
		in = g->input[k];
		in_name = name;
	}
	if (!in)
		return fail(L, "the graph has no input");
	const Onnx__TypeProto *ty = in->type;
	const Onnx__TypeProto__Tensor *tt =
		ty && ty->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? ty->tensor_type
									    : NULL;
	if (!tt || !tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
	    !tt->shape)
		return fail(L, "input '%s' is not a float tensor of a known shape", in_name);
	const Onnx__TensorShapeProto *sh = tt->shape;
	int64_t dims[MODEL_MAX_DIMS];
	if (sh->n_dim > MODEL_MAX_DIMS)
		return fail(L, "input '%s' has %zu dimensions (at most %d)", in_name, sh->n_dim,
			    MODEL_MAX_DIMS);
	for (size_t d = 0; d < sh->n_dim; d++) {
		const Onnx__TensorShapeProto__Dimension *dim = sh->dim[d];
		if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
		    dim->dim_value <= 0)
			return fail(L, "input '%s' has no fixed size in dimension %zu", in_name, d);
		dims[d] = dim->dim_value;
	}
	L->m->input = add_tensor(L, in_name, 0, (int)sh->n_dim, dims);
	return L->m->input ? 0 : -1;
}

/* ---- attributes ---- */

/* Node k's attributes: each must be one op knows (names[i], of type
 * types[i]); their values go to ints[i] / floats[i]. */
static int take_attrs(struct loader *L, size_t k, const Onnx__NodeProto *n, int op, int nattr,
		      const char *const *names, const int *types, int64_t *ints, float *floats)
{
	for (size_t a = 0; a < n->n_attribute; a++) {
		const Onnx__AttributeProto *at = n->attribute[a];
		const char *name = at->name ? at->name : "";
		int i = 0;
		while (i < nattr && strcmp(names[i], name))
			i++;
		if (i == nattr)
			return fail(L,
				    "node %zu (%s) has an attribute '%s' this runtime does "
				    "not implement",
				    k, op_names[op], name);
		int type = at->has_type ? (int)at->type : 0;
		if (type != types[i])
			return fail(L, "node %zu (%s): attribute '%s' has type %d, not %d", k,
				    op_names[op], name, type, types[i]);
		if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
			ints[i] = at->i;
		else
			floats[i] = at->f;
	}
	return 0;
}

/* ---- shapes ---- */

static int reshape_dims(struct loader *L, size_t k, struct step *s, int64_t allowzero, int *nd,
			int64_t *dims)
{
	const struct tensor *x = s->in[0], *shape = s->in[1];
	if (shape->ndims != 1 || shape->n > MODEL_MAX_DIMS)
		return fail(L,
			    "node %zu (Reshape): its shape '%s' is not a list of at most %d "
			    "sizes",
			    k, shape->name, MODEL_MAX_DIMS);
	int infer = -1;
	size_t known = 1;
	for (size_t d = 0; d < shape->n; d++) {
		int64_t v = shape->i[d];
		if (v == 0 && !allowzero) {
			if ((int)d >= x->ndims)
				return fail(L, "node %zu (Reshape): size 0 copies no dimension", k);
			v = x->dims[d];
		} else if (v == -1) {
			if (infer >= 0)
				return fail(L, "node %zu (Reshape): two sizes are -1", k);
			infer = (int)d;
			v = 1;
		} else if (v < 0 || (size_t)v > TENSOR_MAX) {
			return fail(L, "node %zu (Reshape): bad size %lld", k, (long long)v);
		}
		dims[d] = v;
		known *= (size_t)v;
		if (known > TENSOR_MAX)
			return fail(L, "node %zu (Reshape): too many elements", k);
	}
	if (infer >= 0 && known && x->n % known == 0)
		dims[infer] = (int64_t)(x->n / known), known = x->n;
	char from[96];
	model_dims(x, from, sizeof(from));
	if (known != x->n)
		return fail(L, "node %zu (Reshape): cannot reshape '%s' %s as '%s' says", k,
			    x->name, from, shape->name);
	*nd = (int)shape->n;
	return 0;
}

/* Whether b broadcasts onto the rank-r shape out (numpy rules, b's
 * dimensions aligned to the right); with grow, out grows to take it. */
static int broadcasts(const struct tensor *b, int r, int64_t *out, int grow)
{
	if (b->ndims > r)
		return 0;
	for (int j = 0; j < b->ndims; j++) {
		int64_t *o = &out[r - b->ndims + j], v = b->dims[j];
		if (grow && *o == 1)
			*o = v;
		else if (v != *o && v != 1)
			return 0;
	}
	return 1;
}

static int div_dims(struct loader *L, size_t k, struct step *s, int *nd, int64_t *dims)
{
	const struct tensor *a = s->in[0], *b = s->in[1];
	int r = a->ndims > b->ndims ? a->ndims : b->ndims;
	for (int d = 0; d < r; d++)
		dims[d] = 1;
	char da[96], db[96];
	if (!broadcasts(a, r, dims, 1) || !broadcasts(b, r, dims, 1)) {
		model_dims(a, da, sizeof(da));
		model_dims(b, db, sizeof(db));
		return fail(L, "node %zu (Div): '%s' %s and '%s' %s do not broadcast", k, a->name,
			    da, b->name, db);
	}
	*nd = r;
	return 0;
}

static int gemm_dims(struct loader *L, size_t k, struct step *s, int *nd, int64_t *dims)
{
	const struct tensor *a = s->in[0], *b = s->in[1], *c = s->in[2];
	if (a->ndims != 2 || b->ndims != 2)
		return fail(L, "node %zu (Gemm): A and B must be matrices", k);
	int64_t m = a->dims[s->trans_a], ka = a->dims[!s->trans_a];
	int64_t kb = b->dims[s->trans_b], n = b->dims[!s->trans_b];
	if (ka != kb)
		return fail(L, "node %zu (Gemm): '%s' has %lld columns, '%s' %lld rows", k, a->name,
			    (long long)ka, b->name, (long long)kb);
	dims[0] = m;
	dims[1] = n;
	if (c && !broadcasts(c, 2, dims, 0))
		return fail(L, "node %zu (Gemm): C '%s' does not broadcast to [%lld,%lld]", k,
			    c->name, (long long)m, (long long)n);
	*nd = 2;
	return 0;
}

/* ---- nodes ---- */

static int op_of(const char *name)
{
	for (int op = 0; op < OP_COUNT; op++)
		if (name && !strcmp(name, op_names[op]))
			return op;
	return -1;
}

/* Node k's inputs, which earlier nodes, initializers or the input made. */
static int take_inputs(struct loader *L, size_t k, const Onnx__NodeProto *n, int op, struct step *s)
{
	static const size_t min[OP_COUNT] = {2, 2, 2, 1}, max[OP_COUNT] = {2, 2, 3, 1};
	if (n->n_input < min[op] || n->n_input > max[op])
		return fail(L, "node %zu (%s) has %zu inputs", k, op_names[op], n->n_input);
	for (size_t i = 0; i < n->n_input; i++) {
		if (i == 2 && !n->input[i][0])
			continue; /* Gemm without C */
		s->in[i] = find(L->m, n->input[i]);
		if (!s->in[i])
			return fail(L,
				    "node %zu (%s) reads '%s', which no initializer, input or "
				    "earlier node makes",
				    k, op_names[op], n->input[i]);
		int want_int = op == OP_RESHAPE && i == 1;
		if (s->in[i]->is_int != want_int)
			return fail(L, "node %zu (%s): '%s' is not a %s tensor", k, op_names[op],
				    n->input[i], want_int ? "int64" : "float");
	}
	return 0;
}

static int take_node(struct loader *L, size_t k, const Onnx__NodeProto *n)
{
	static const char *const gemm_attrs[] = {"alpha", "beta", "transA", "transB"};
	enum {
		F = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
		I = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
	};
	static const int gemm_types[] = {F, F, I, I}, int_type[] = {I};
	static const char *const reshape_attrs[] = {"allowzero"};
	int op = op_of(n->op_type);
	if (op < 0)
		return fail(L,
			    "node %zu is a '%s': not an operator this runtime implements "
			    "(Reshape, Div, Gemm, Relu)",
			    k, n->op_type ? n->op_type : "");
	if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
		return fail(L, "node %zu (%s) is in domain '%s'", k, op_names[op], n->domain);
	if (n->n_output != 1)
		return fail(L, "node %zu (%s) has %zu outputs, not 1", k, op_names[op],
			    n->n_output);
	struct step *s = &L->m->steps[L->m->nsteps];
	memset(s, 0, sizeof(*s));
	s->op = op;
	if (take_inputs(L, k, n, op, s))
		return -1;
	int64_t ints[4] = {0, 0, 0, 0}, dims[MODEL_MAX_DIMS];
	float floats[4] = {1, 1, 0, 0};
	int nd = 0, rc = 0;
	if (op == OP_GEMM)
		rc = take_attrs(L, k, n, op, 4, gemm_attrs, gemm_types, ints, floats);
	else if (op == OP_RESHAPE)
		rc = take_attrs(L, k, n, op, 1, reshape_attrs, int_type, ints, floats);
	else
		rc = take_attrs(L, k, n, op, 0, NULL, NULL, ints, floats);
	if (rc)
		return -1;
	s->alpha = floats[0];
	s->beta = floats[1];
	s->trans_a = ints[2] != 0;
	s->trans_b = ints[3] != 0;
	if (op == OP_RESHAPE)
		rc = reshape_dims(L, k, s, ints[0], &nd, dims);
	else if (op == OP_DIV)
		rc = div_dims(L, k, s, &nd, dims);
	else if (op == OP_GEMM)
		rc = gemm_dims(L, k, s, &nd, dims);
	else
		memcpy(dims, s->in[0]->dims, sizeof(dims)), nd = s->in[0]->ndims;
	if (rc || !(s->out = add_tensor(L, n->output[0], 0, nd, dims)))
		return -1;
	L->m->nsteps++;
	size_t used = strlen(L->m->ops);
	snprintf(L->m->ops + used, sizeof(L->m->ops) - used, "%s%s", used ? " " : "", op_names[op]);
	return 0;
}

/* ---- the model ---- */

static int check_opset(struct loader *L, const Onnx__ModelProto *mp)
{
	for (size_t k = 0; k < mp->n_opset_import; k++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[k];
		if (o->domain && o->domain[0] && strcmp(o->domain, "ai.onnx"))
			continue;
		if (!o->has_version || o->version < OPSET_MIN || o->version > OPSET_MAX)
			return fail(L,
				    "it needs ONNX operator set %lld; this runtime implements "
				    "%d to %d",
				    (long long)o->version, OPSET_MIN, OPSET_MAX);
		return 0;
	}
	return fail(L, "it imports no version of the ONNX operator set");
}

static int take_graph(struct loader *L, const Onnx__GraphProto *g)
{
	struct model *m = L->m;
	if (g->n_node > COUNT_MAX || g->n_initializer > COUNT_MAX || g->n_input > COUNT_MAX)
		return fail(L, "the graph has over %d nodes, initializers or inputs", COUNT_MAX);
	if (g->n_sparse_initializer)
		return fail(L, "the graph has sparse initializers");
	m->cap = g->n_initializer + 1 + g->n_node;
	m->t = calloc(m->cap, sizeof(*m->t));
	m->steps = calloc(g->n_node ? g->n_node : 1, sizeof(*m->steps));
	if (!m->t || !m->steps)
		return fail(L, "out of memory");
	for (size_t k = 0; k < g->n_initializer; k++)
		if (take_initializer(L, g->initializer[k]))
			return -1;
	m->ninit = m->nt;
	if (take_input(L, g))
		return -1;
	for (size_t k = 0; k < g->n_node; k++)
		if (take_node(L, k, g->node[k]))
			return -1;
	if (g->n_output != 1)
		return fail(L, "the graph has %zu outputs, not 1", g->n_output);
	const char *out = g->output[0]->name ? g->output[0]->name : "";
	m->output = find(m, out);
	if (!m->output || m->output->is_int || m->output == m->input)
		return fail(L, "no node makes the graph's output '%s'", out);
	return 0;
}

int model_load(struct model *m, const char *path, char *why, size_t len)
{
	struct loader L = {m, why, len, 0};
	uint8_t *buf = NULL;
	size_t size = 0;
	memset(m, 0, sizeof(*m));
	if (read_model(&L, path, &buf, &size))
		return -1;
	Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, buf);
	free(buf);
	if (!mp)
		return fail(&L,
			    "not an ONNX model: protobuf-c cannot unpack its %zu bytes "
			    "(truncated, or not protobuf)",
			    size);
	int rc = check_opset(&L, mp);
	if (!rc && !mp->graph)
		rc = fail(&L, "it has no graph");
	if (!rc)
		rc = take_graph(&L, mp->graph);
	onnx__model_proto__free_unpacked(mp, NULL);
	return rc;
}

/* ---- the operators ---- */

/* Strides of t's elements along the rank-r output's dimensions: 0 where t
 * is broadcast (a dimension of 1, or one it does not have). */
static void strides(const struct tensor *t, int r, size_t *st)
{
	size_t s = 1;
	for (int d = r - 1; d >= 0; d--) {
		int j = d - (r - t->ndims);
		st[d] = j >= 0 && t->dims[j] != 1 ? s : 0;
		if (j >= 0)
			s *= (size_t)t->dims[j];
	}
}

static void run_div(const struct step *s)
{
	const struct tensor *a = s->in[0], *b = s->in[1], *o = s->out;
	size_t sa[MODEL_MAX_DIMS], sb[MODEL_MAX_DIMS], ia = 0, ib = 0;
	int64_t idx[MODEL_MAX_DIMS] = {0};
	strides(a, o->ndims, sa);
	strides(b, o->ndims, sb);
	for (size_t k = 0; k < o->n; k++) {
		o->f[k] = a->f[ia] / b->f[ib];
		for (int d = o->ndims - 1; d >= 0; d--) { /* the next index, odometer-wise */
			ia += sa[d];
			ib += sb[d];
			if (++idx[d] < o->dims[d])
				break;
			ia -= sa[d] * (size_t)o->dims[d];
			ib -= sb[d] * (size_t)o->dims[d];
			idx[d] = 0;
		}
	}
}

static void run_gemm(const struct step *s)
{
	const struct tensor *a = s->in[0], *b = s->in[1], *c = s->in[2], *o = s->out;
	size_t M = (size_t)o->dims[0], N = (size_t)o->dims[1];
	size_t K = (size_t)a->dims[!s->trans_a];
	size_t sc[2] = {0, 0};
	if (c)
		strides(c, 2, sc);
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			float acc = 0;
			for (size_t k = 0; k < K; k++)
				acc += a->f[s->trans_a ? k * M + i : i * K + k] *
				       b->f[s->trans_b ? j * K + k : k * N + j];
			o->f[i * N + j] =
				s->alpha * acc + (c ? s->beta * c->f[i * sc[0] + j * sc[1]] : 0);
		}
}

void model_run(const struct model *m)
{
	for (size_t k = 0; k < m->nsteps; k++) {
		const struct step *s = &m->steps[k];
		const struct tensor *x = s->in[0];
		switch (s->op) {
		case OP_RESHAPE:
			memcpy(s->out->f, x->f, x->n * sizeof(float));
			break;
		case OP_DIV:
			run_div(s);
			break;
		case OP_GEMM:
			run_gemm(s);
			break;
		case OP_RELU:
			for (size_t i = 0; i < x->n; i++)
				s->out->f[i] = x->f[i] > 0 ? x->f[i] : 0;
			break;
		}
	}
}
