/*
 * libFuzzer target for snapshot images: the input is an image.img whose
 * checksums (header, metadata, pages, runtime) this harness sets right, so
 * that the fuzzer gets past them into the structural checks of
 * the image feature's plan hook.  Whatever it builds, the plan must only touch user space,
 * map memory only where nothing is, and a failure must leave nothing
 * behind.
 * The harness includes image.c for its hash and header layout.
 */
#include "../../src/features/image/image.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__ubsan_default_options(void);

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static char dir[64], runtime[96];
static struct iv_cvm_cfg cfg;
static uint64_t rt_len, rt_hash, pages_len, pg_hash;

#define PAGES_MAX (64 * 4096)

/* pages.img of len bytes (its contents depend only on len). */
static void write_pages(uint64_t len)
{
	static uint8_t pages[PAGES_MAX];
	memset(pages, 0x5a, sizeof(pages));
	char path[128];
	snprintf(path, sizeof(path), "%s/pages.img", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, pages, len) != (ssize_t)len)
		abort();
	close(fd);
	pages_len = len;
	pg_hash = hash_more(HASH_SEED, pages, len);
}

/* The scratch directory goes when the fuzzer ends (libFuzzer exits normally
 * at -max_total_time; a crash keeps it for the reproducer's sake). */
static void cleanup(void)
{
	const char *files[] = {"image.img", "pages.img", "runtime"};
	char path[128];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/iv-fuzz-image-%d", getpid());
	mkdir(dir, 0700);
	atexit(cleanup);
	snprintf(runtime, sizeof(runtime), "%s/runtime", dir);
	int fd = open(runtime, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "an ELF image", 12) != 12)
		abort();
	close(fd);
	fd = open(runtime, O_RDONLY);
	rt_len = 12;
	hash_file(fd, rt_len, &rt_hash);
	close(fd);
	write_pages(4 * 4096);
	struct iv_err err;
	iv_feature_register(&iv_feature_capfile);
	iv_feature_register(&iv_feature_tfork);
	iv_feature_register(&iv_feature_image);
	iv_cap_create("c", 4096, NULL, 0, -1, &err);
	cfg.name = "fuzz";
	cfg.runtime = runtime;
	cfg.snapshot_path = dir;
	cfg.resume = 1;
	cfg.size = 0x10000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		setup();
		ready = 1;
	}
	struct img_hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(&h, data, size < sizeof(h) ? size : sizeof(h));
	const uint8_t *meta = size > sizeof(h) ? data + sizeof(h) : data;
	size_t meta_len = size > sizeof(h) ? size - sizeof(h) : 0;
	h.magic = IMG_MAGIC;
	h.version = IMG_VERSION;
	h.hdr_size = sizeof(h);
	h.meta_len = meta_len;
	h.meta_hash = hash_more(HASH_SEED, meta, meta_len);
	/* pages.img as long as the input says (so that its extents can cover
	 * it), within reason */
	uint64_t want = h.pages_len & ~4095ULL;
	if (want > PAGES_MAX)
		want = want % (PAGES_MAX + 4096);
	if (want != pages_len)
		write_pages(want);
	h.pages_len = pages_len;
	h.pages_hash = pg_hash;
	h.runtime_len = rt_len;
	h.runtime_hash = rt_hash;
	h.hdr_hash = 0;
	h.hdr_hash = hash_more(HASH_SEED, &h, sizeof(h));
	char path[128];
	snprintf(path, sizeof(path), "%s/image.img", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    (meta_len && write(fd, meta, meta_len) != (ssize_t)meta_len))
		abort();
	close(fd);

	struct iv_cvm cvm;
	memset(&cvm, 0, sizeof(cvm));
	cvm.cfg = &cfg;
	pthread_mutex_init(&cvm.lock, NULL);
	if (iv_features_alloc(&cvm))
		abort();
	struct iv_plan pl;
	memset(&pl, 0, sizeof(pl));
	int pages_fd, extra[IV_MAX_EXTRA], nextra;
	struct iv_err err;
	if (plan(&cvm, &pl, &pages_fd, extra, &nextra, &err) == 0) {
		for (size_t i = 0; i < pl.nops; i++) {
			const struct iv_plan_op *op = &pl.ops[i];
			/* (a close and a signal action touch no memory) */
			if (op->kind == IV_OP_CLOSE || op->kind == IV_OP_SIGACTION)
				continue;
			if (op->addr < IV_USER_MIN || op->addr > IV_USER_TOP ||
			    op->len > IV_USER_TOP - op->addr)
				__builtin_trap();
			/* nor where the stub maps the plan */
			if (pl.hdr.plan_at &&
			    op->addr < pl.hdr.plan_at + PLAN_WINDOW &&
			    op->addr + op->len > pl.hdr.plan_at)
				__builtin_trap();
			/* restored memory never replaces what the new cell has */
			if (op->kind == IV_OP_MAP_ANON && !(op->arg & IV_MAP_FRESH))
				__builtin_trap();
		}
		close(pages_fd);
		for (int i = 0; i < nextra; i++)
			close(extra[i]);
	} else if (pages_fd != -1 || nextra != 0) {
		__builtin_trap();
	}
	iv_plan_free(&pl);
	iv_features_free(&cvm);
	return 0;
}
