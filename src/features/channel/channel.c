/*
 * Channels: the memory of cap streams and cap calls (channel.h).
 *
 * A channel is a sealed memfd (it can neither shrink nor grow, so no
 * mapping of it can fault) of one control page and the data area.  The
 * advertiser and each prober get a descriptor of it and map it; the
 * monitor maps its control page too, to mark a channel whose advertiser
 * has ended (IV_CHAN_DEAD in its state, IV_CC_DEAD in a call's done_seq) and to undo what a prober
 * that ended held (its claim on a stream's buffer, its lock on a call), waking the sleepers of the
 * futex words involved.  Each prober gets a token of its own, which it writes where it claims
 * something, so that the monitor knows what to undo; a cVM that forged another's token could only
 * break a channel it holds anyway.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "access/access.h"
#include "channel.h"
#include "iv_channel.h"

#define MAX_CHANNELS 1024
#define MAX_HELD     64 /* channels one cVM may hold by probe */
#define DATA_MAX     (1ULL << 32)

struct chan {
	char key[IV_KEY_MAX];
	unsigned kind;
	int fd;
	struct iv_chan_page *page; /* the monitor's mapping of the control page */
	uint64_t size;		   /* of the data area */
	int owner;		   /* the advertiser's cVM id */
	int dead;		   /* its advertiser has ended: the key is free again */
	unsigned next_token;
};

struct chan_cvm {
	struct {
		struct chan *ch;
		unsigned token;
	} held[MAX_HELD];
	int nheld;
	uint64_t adv_bytes; /* data areas it advertised (they count against its size) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct chan *chans[MAX_CHANNELS]; /* every channel of the run, dead ones too */
static int nchans;

static struct chan_cvm *of(struct iv_cvm *cvm)
{
	return iv_state(cvm, &iv_feature_channel);
}

static void wake(unsigned *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static const char *kind_name(unsigned kind)
{
	return kind == IV_CHAN_STREAM ? "stream" : "call";
}

/* The live channel with key (lock held). */
static struct chan *find_locked(const char *key)
{
	for (int i = 0; i < nchans; i++)
		if (!chans[i]->dead && !strcmp(chans[i]->key, key))
			return chans[i];
	return NULL;
}

static void chan_free(struct chan *ch)
{
	if (ch->page)
		munmap(ch->page, IV_CHAN_PAGE);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}

/* A channel's memory: sealed, its control page mapped here. */
static struct chan *chan_new(const char *key, unsigned kind, uint64_t size, int owner)
{
	struct chan *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	snprintf(ch->key, sizeof(ch->key), "%s", key);
	ch->kind = kind;
	ch->size = size;
	ch->owner = owner;
	ch->fd = memfd_create(key, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ch->fd < 0 || ftruncate(ch->fd, (off_t)(IV_CHAN_PAGE + size)) ||
	    fcntl(ch->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		chan_free(ch);
		return NULL;
	}
	ch->page = mmap(NULL, IV_CHAN_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ch->fd, 0);
	if (ch->page == MAP_FAILED) {
		ch->page = NULL;
		chan_free(ch);
		return NULL;
	}
	ch->page->kind = kind;
	return ch;
}

/* A descriptor of ch for the calling cell, and what it is to know. */
static long hand_over(struct iv_call *c, struct chan *ch, unsigned token)
{
	struct iv_chan_info info = {
		.kind = ch->kind,
		.token = token,
		.size = ch->size,
		.timeout_ms = c->cvm->cfg->call_timeout_ms ? c->cvm->cfg->call_timeout_ms
							   : IV_CALL_TIMEOUT_MS,
	};
	int r = iv_cvm_write(c->cvm, c->a[1], &info, sizeof(info));
	if (r)
		return r;
	int fd = fcntl(ch->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	long ret = iv_call_install_fd(c, fd);
	close(fd);
	return ret;
}

/* Its advertiser has ended: whoever waits on ch learns it. */
static void owner_ended(struct chan *ch)
{
	struct iv_chan_page *p = ch->page;
	__atomic_fetch_or(&p->state, IV_CHAN_DEAD, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&p->done_seq, IV_CC_DEAD, __ATOMIC_SEQ_CST);
	wake(&p->state);
	wake(&p->done_seq);
	wake(&p->lock);
	iv_key_release(ch->key);
}

/* CS_ADV(key, struct iv_chan_info *info, names): a new channel of
 * info->kind with info->size bytes of data, for the cVMs names lists
 * ("a,b"; 0: any) and itself; returns a descriptor of its memory. */
static long hc_adv(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	char key[IV_KEY_MAX], names[IV_NAMES_MAX] = "";
	struct iv_chan_info in;
	int r = iv_cvm_read_str(cvm, c->a[0], key, sizeof(key));
	if (r || (r = iv_cvm_read(cvm, c->a[1], &in, sizeof(in))) ||
	    (c->a[2] && (r = iv_cvm_read_str(cvm, c->a[2], names, sizeof(names)))))
		return r;
	if (!iv_key_valid(key) || (in.kind != IV_CHAN_STREAM && in.kind != IV_CHAN_CALL) ||
	    in.size == 0 || in.size > DATA_MAX || (in.size & (IV_PAGE - 1)))
		return -EINVAL;
	char what[32];
	snprintf(what, sizeof(what), "advertise %s", kind_name(in.kind));
	if (iv_access_check(cvm, key, what))
		return -EPERM;
	struct chan_cvm *cc = of(cvm);
	pthread_mutex_lock(&cvm->lock);
	int full = cc->adv_bytes + in.size > cvm->cfg->size;
	if (!full)
		cc->adv_bytes += in.size;
	pthread_mutex_unlock(&cvm->lock);
	if (full)
		return -ENOSPC;

	struct chan *ch = chan_new(key, in.kind, in.size, cvm->id);
	long ret = ch ? 0 : -ENOMEM;
	pthread_mutex_lock(&lock);
	if (ret == 0 && nchans == MAX_CHANNELS)
		ret = -ENOSPC;
	if (ret == 0)
		ret = iv_key_claim(cvm, key, names);
	if (ret == 0)
		chans[nchans++] = ch;
	pthread_mutex_unlock(&lock);
	if (ret == 0 && (ret = hand_over(c, ch, 0)) < 0) {
		/* known by its key for a moment: it ends as if its owner had */
		pthread_mutex_lock(&lock);
		ch->dead = 1;
		owner_ended(ch);
		pthread_mutex_unlock(&lock);
	} else if (ret < 0 && ch) {
		chan_free(ch);
	}
	if (ret < 0) {
		pthread_mutex_lock(&cvm->lock);
		cc->adv_bytes -= in.size;
		pthread_mutex_unlock(&cvm->lock);
		return ret;
	}
	iv_vlog("cVM '%s': advertise %s '%s', %llu bytes", cvm->cfg->name, kind_name(in.kind), key,
		(unsigned long long)in.size);
	return ret;
}

/* CS_PRB(key, struct iv_chan_info *info): the channel key, if the cVM may
 * use it and it is of info->kind (0: either); returns a descriptor of its
 * memory, info says what it is. */
static long hc_prb(struct iv_call *c)
{
	struct iv_cvm *cvm = c->cvm;
	char key[IV_KEY_MAX];
	struct iv_chan_info in;
	int r = iv_cvm_read_str(cvm, c->a[0], key, sizeof(key));
	if (r || (r = iv_cvm_read(cvm, c->a[1], &in, sizeof(in))))
		return r;
	pthread_mutex_lock(&lock);
	struct chan *ch = find_locked(key);
	unsigned kind = ch ? ch->kind : 0;
	pthread_mutex_unlock(&lock);
	char what[32];
	snprintf(what, sizeof(what), "probe %s", kind_name(kind));
	if (!ch || iv_access_check(cvm, key, what))
		return -ENOENT;
	if (in.kind && in.kind != kind)
		return -EINVAL; /* a stream probed as a call, or the reverse */
	struct chan_cvm *cc = of(cvm);
	unsigned token = 0;
	pthread_mutex_lock(&lock);
	pthread_mutex_lock(&cvm->lock);
	if (cc->nheld < MAX_HELD && !ch->dead) {
		token = ++ch->next_token & IV_CHAN_TOKEN_MASK;
		if (!token)
			token = ++ch->next_token & IV_CHAN_TOKEN_MASK;
		cc->held[cc->nheld].ch = ch;
		cc->held[cc->nheld].token = token;
		cc->nheld++;
		if (ch->kind == IV_CHAN_STREAM)
			__atomic_add_fetch(&ch->page->writers, 1, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&cvm->lock);
	pthread_mutex_unlock(&lock);
	if (!token)
		return ch->dead ? -ENOENT : -ENOSPC;
	long ret = hand_over(c, ch, token);
	iv_vlog("cVM '%s': probe %s '%s' -> %ld", cvm->cfg->name, kind_name(ch->kind), key, ret);
	return ret; /* (on failure the token stays held, harmlessly, until the cVM ends) */
}

/* A prober that held ch with token has ended: what it held is let go. */
static void prober_ended(struct chan *ch, unsigned token)
{
	struct iv_chan_page *p = ch->page;
	if (ch->kind == IV_CHAN_STREAM) {
		unsigned claimed = IV_CS_CLAIMED | token;
		__atomic_compare_exchange_n(&p->state, &claimed, IV_CS_BROKEN, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
		__atomic_sub_fetch(&p->writers, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&p->hup, 1, __ATOMIC_SEQ_CST);
		/* a receiver asleep on READY must see its word change */
		unsigned ready = IV_CS_READY;
		__atomic_compare_exchange_n(&p->state, &ready, IV_CS_HUP, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
		wake(&p->state);
	} else {
		unsigned held = token;
		if (__atomic_compare_exchange_n(&p->lock, &held, 0, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			wake(&p->lock);
	}
}

static void ended(struct iv_cvm *cvm)
{
	struct chan_cvm *cc = of(cvm);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nchans; i++)
		if (chans[i]->owner == cvm->id && !chans[i]->dead) {
			chans[i]->dead = 1;
			owner_ended(chans[i]);
		}
	pthread_mutex_lock(&cvm->lock);
	for (int i = 0; i < cc->nheld; i++)
		prober_ended(cc->held[i].ch, cc->held[i].token);
	cc->nheld = 0;
	pthread_mutex_unlock(&cvm->lock);
	pthread_mutex_unlock(&lock);
}

static int start(struct iv_run *run, struct iv_err *err)
{
	(void)run;
	(void)err;
	iv_hostcall_register(HC_CS_ADV, "cap_stream_adv", hc_adv);
	iv_hostcall_register(HC_CS_PRB, "cap_stream_prb", hc_prb);
	return 0;
}

static void stop(struct iv_run *run)
{
	(void)run;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nchans; i++)
		chan_free(chans[i]);
	nchans = 0;
	pthread_mutex_unlock(&lock);
}

struct iv_feature iv_feature_channel = {
	.name = "cap streams and calls",
	.cvm_size = sizeof(struct chan_cvm),
	.start = start,
	.ended = ended,
	.stop = stop,
};
