/*
 * Warm cells (`--pool N`): a thread of the run makes the cells of the next
 * cVMs to be deployed ahead of need, each exactly as its own deploy would
 * (its namespaces, uid, rlimits, root, its filter and listener installed),
 * parks it (cell.c, iv_cell_park) and, but for a restore, lays its image
 * out in it (iv_cell_preload): its deploy then only says go.  A restore's
 * deploy hands its parked cell the plan (iv_cell_hand).
 *
 * A cell is parked for one cVM, never for another, so a pooled cell holds
 * nothing of any other cVM: it has run only the stub.  At most N cells are
 * parked (or being made) at once.  A cVM whose cell cannot be parked (a
 * program, a networked cVM, a fork, ...: iv_cvm_parkable) is deployed as
 * before, and so is one whose parked cell died or is not made yet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "iv.h"

enum { EMPTY, MAKING, PARKED, TAKEN };

struct slot {
	int state;
	struct iv_parked pk;
};

struct iv_pool {
	struct iv_run *run;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int size, stop;
	size_t next;	   /* the first cVM not yet deployed */
	struct slot *slots; /* one per cVM of the run */
	int held, most;	   /* parked or being made now; the most at once */
	int made, used, failed;
	pid_t tid; /* the pool's thread */
};

#define POOL_NICE 10

static void cell_init(struct iv_cell *c)
{
	memset(c, 0, sizeof(*c));
	c->pidfd = c->listener = c->console = c->errcons = c->ctl = -1;
}

/* The cVM to park a cell for next: of the next size parkable cVMs not yet
 * deployed, the farthest that has no cell yet.  In a burst, the deploys
 * make the nearest cells themselves meanwhile (the pool does not hold
 * them up) and take the pool's further on; one after another, the pool
 * fills them all ahead anyway. */
static struct slot *wanted(struct iv_pool *p, size_t *which)
{
	struct slot *found = NULL;
	int seen = 0;
	for (size_t i = p->next; i < p->run->ncvms && seen < p->size; i++) {
		struct slot *s = &p->slots[i];
		if (!iv_cvm_parkable(p->run->cvms[i].cfg))
			continue;
		seen++;
		if (s->state == EMPTY) {
			*which = i;
			found = s;
		}
	}
	return found;
}

/* Makes cvm's cell and parks it; one that is not a restore is also laid
 * out (preloaded: its plan is built from its config alone, as its deploy
 * would build it, and the cell runs it), so that its deploy is only the go. */
static int park(struct iv_cvm *cvm, struct iv_parked *pk)
{
	struct iv_cell_spec spec;
	struct iv_err err;
	memset(pk, 0, sizeof(*pk));
	cell_init(&pk->cell);
	iv_cvm_cell_spec(cvm, &spec);
	/* (a restore's brk reaches the monitor: its libc's is the template's) */
	if (iv_cell_park(&pk->cell, &spec, cvm->cfg->resume ? IV_POLICY_NOTIFY_BRK : 0, &err)) {
		iv_vlog("pool: %s", err.msg);
		return -1;
	}
	pk->pidns = iv_pidns_of(pk->cell.pid);
	if (cvm->cfg->resume)
		return 0;
	struct iv_plan plan = {0};
	int elf_fd, rc = iv_cvm_preplan(cvm, &plan, &elf_fd, &pk->lay, &err);
	if (rc == 0)
		rc = iv_cell_preload(&pk->cell, cvm->cfg->name, &plan, elf_fd, NULL, 0, &err);
	iv_plan_free(&plan);
	if (rc) {
		/* (its deploy plans it again and says what is wrong) */
		iv_vlog("pool: %s", err.msg);
		iv_cell_discard(&pk->cell);
		return -1;
	}
	pk->preloaded = 1;
	return 0;
}

static void *fill(void *arg)
{
	struct iv_pool *p = arg;
	/* Off the critical path: on a CPU the deploys also need, the pool takes
	 * little of it (nice 10: SCHED_IDLE, and nice 19 on a loaded machine,
	 * starved it); a deploy waiting for it lends it nice 0 meanwhile; its
	 * cells take nice 0 back. */
	p->tid = (pid_t)syscall(SYS_gettid);
	setpriority(PRIO_PROCESS, (id_t)p->tid, POOL_NICE);
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		size_t i;
		struct slot *s = p->held < p->size ? wanted(p, &i) : NULL;
		if (!s) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		s->state = MAKING;
		if (++p->held > p->most)
			p->most = p->held;
		pthread_mutex_unlock(&p->lock);

		struct iv_parked pk;
		int rc = park(&p->run->cvms[i], &pk);

		pthread_mutex_lock(&p->lock);
		if (rc == 0) {
			s->pk = pk;
			s->state = PARKED;
			p->made++;
		} else {
			s->state = TAKEN; /* its deploy makes it as before */
			p->held--;
			p->failed++;
		}
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int iv_pool_start(struct iv_run *run, int size, struct iv_err *err)
{
	if (size <= 0)
		return 0;
	struct iv_pool *p = calloc(1, sizeof(*p));
	if (!p || !(p->slots = calloc(run->ncvms, sizeof(*p->slots)))) {
		free(p);
		return iv_fail(err, "out of memory");
	}
	p->run = run;
	p->size = size;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	int rc = pthread_create(&p->thread, NULL, fill, p);
	if (rc) {
		free(p->slots);
		free(p);
		return iv_fail(err, "cannot start the cell pool: %s", strerror(rc));
	}
	run->pool = p;
	return 0;
}

int iv_pool_take(struct iv_cvm *cvm, struct iv_parked *out)
{
	struct iv_pool *p = cvm->run->pool;
	if (!p || cvm->id < 0 || (size_t)cvm->id >= p->run->ncvms)
		return 0;
	pthread_mutex_lock(&p->lock);
	struct slot *s = &p->slots[cvm->id];
	if (p->next <= (size_t)cvm->id)
		p->next = (size_t)cvm->id + 1;
	/* One being made is awaited: it is further along than a new one
	 * (its making is bounded: iv_cell_park). */
	if (s->state == MAKING) {
		/* (tid was set before anything was MAKING; 0 would be this thread) */
		if (p->tid > 0)
			setpriority(PRIO_PROCESS, (id_t)p->tid, 0);
		while (s->state == MAKING)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->tid > 0)
			setpriority(PRIO_PROCESS, (id_t)p->tid, POOL_NICE);
	}
	int got = s->state == PARKED;
	if (got) {
		*out = s->pk;
		p->held--;
		p->used++;
	}
	s->state = TAKEN;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return got;
}

void iv_pool_stop(struct iv_run *run)
{
	struct iv_pool *p = run->pool;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	int unused = 0;
	for (size_t i = 0; i < run->ncvms; i++)
		if (p->slots[i].state == PARKED) {
			iv_cell_discard(&p->slots[i].pk.cell);
			unused++;
		}
	iv_log("pool: %d cells parked ahead (at most %d at once, bound %d), %d used, %d unused, "
	       "%d could not be parked",
	       p->made, p->most, p->size, p->used, unused, p->failed);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->slots);
	free(p);
	run->pool = NULL;
}
