/*
 * Memory cgroups for programs.  A program's processes share one limit: the
 * cell is born in a memory cgroup of its own (made under the monitor's,
 * limited to the cVM's memory; see spawners below), and so is every process
 * it makes.  RLIMIT_AS bounds each process; this bounds them together,
 * a tmpfs's pages included.  cgroup v1's memory hierarchy or cgroup v2;
 * where neither can be used the run says so once and programs are bounded
 * per process only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "iv_cell.h"

static char base[160];
static const char *limit_file;
static int state; /* 0 not looked for, 1 usable, -1 not */
static int v1;	  /* cgroup v1: a thread may sit in a cgroup of its own */

/* The monitor's own memory cgroup: v1's memory line, or v2's. */
static int find_base(void)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[512], v2[256] = "";
	int found = 0;
	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *ctl = c1 + 1, *path = c2 + 1;
		if (!*ctl) {
			snprintf(v2, sizeof(v2), "%s", path);
			continue;
		}
		for (char *save, *t = strtok_r((char *)ctl, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			if (!strcmp(t, "memory")) {
				found = snprintf(base, sizeof(base), "/sys/fs/cgroup/memory%s",
						 strcmp(path, "/") ? path : "") < (int)sizeof(base);
				limit_file = "memory.limit_in_bytes";
				v1 = 1;
			}
	}
	if (f)
		fclose(f);
	if (!found && access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		found = snprintf(base, sizeof(base), "/sys/fs/cgroup%s",
				 strcmp(v2, "/") ? v2 : "") < (int)sizeof(base);
		limit_file = "memory.max";
		/* (v2: the memory controller must be on for the monitor's children) */
		char p[200];
		snprintf(p, sizeof(p), "%s/cgroup.subtree_control", base);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "+memory", 7) < 0) {
				/* already on, or impossible: the probe below tells */
			}
			close(fd);
		}
	}
	return found;
}

static int write_file(const char *dir, const char *file, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * Moving a process between cgroups waits for an RCU grace period unless
 * another move came just before: 11-20 ms here once idle, 40 us back to
 * back (measured).  The cell waits for it before its program starts:
 * memory a program touched before its move would stay charged elsewhere
 * (cgroup v1 no longer moves charges), and its children would be born
 * outside.
 */
/* Cgroups a monitor killed before it could remove them left behind: its
 * own are named for its pid, and an empty one of a pid that is gone goes. */
static void sweep(void)
{
	DIR *d = opendir(base);
	for (struct dirent *e; d && (e = readdir(d));) {
		int pid;
		char path[512];
		if (sscanf(e->d_name, "intravisor-%d-", &pid) != 1 || pid <= 0 ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		rmdir(path); /* (fails while a task is still there) */
	}
	if (d)
		closedir(d);
}

static int usable(void)
{
	if (state == 0) {
		state = find_base() ? 1 : -1;
		if (state > 0)
			sweep();
		if (state < 0)
			iv_log("no memory cgroup for programs: each process is bounded alone");
	}
	return state > 0;
}

static int confine(const char *name, uint64_t limit, pid_t pid, char *out, size_t outlen)
{
	out[0] = 0;
	if (!usable() || !limit)
		return -1;
	char lim[32], text[24];
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)limit);
	snprintf(text, sizeof(text), "%d", (int)pid);
	int n = snprintf(out, outlen, "%s/intravisor-%d-%s", base, (int)getpid(), name);
	if (n > 0 && (size_t)n < outlen && (mkdir(out, 0700) == 0 || errno == EEXIST) &&
	    write_file(out, limit_file, lim) == 0 && write_file(out, "cgroup.procs", text) == 0)
		return 0;
	iv_log("no memory cgroup for programs (%s: %s): each process is bounded alone", base,
	       strerror(errno));
	if (n > 0 && (size_t)n < outlen)
		rmdir(out);
	out[0] = 0;
	state = -1;
	return -1;
}

/*
 * Spawners.  So that no start waits for a move, the cell is born in its
 * cgroup: a child is born where the thread that makes it is, and in cgroup
 * v1 a thread of the monitor may sit in a cgroup of its own.  A spawner is
 * such a thread, made ahead in a fresh cgroup (its own move paid there,
 * off every start's path); a start hands it the clone, takes its cgroup
 * for the cell, and the spawner ends (a task leaving by exit waits for
 * nothing).  POOL are kept ready; each start has a new one made.
 */
#define POOL 4

struct spawner {
	pthread_t th;
	char cg[192];
	int ready;			  /* sitting in cg, waiting for a job */
	pid_t (*fn)(void *);		  /* the job */
	void *arg;
	pid_t result;
	int done, bad;
	pthread_mutex_t lock;
	pthread_cond_t cv;
};

static struct spawner *pool[POOL];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned made;
static int at_exit; /* the pool outlives runs (a monitor's next run finds it ready) */

static void *spawner_main(void *a)
{
	struct spawner *s = a;
	char tid[24];
	snprintf(tid, sizeof(tid), "%ld", (long)syscall(SYS_gettid));
	int ok = (mkdir(s->cg, 0700) == 0 || errno == EEXIST) && write_file(s->cg, "tasks", tid) == 0;
	pthread_mutex_lock(&s->lock);
	s->ready = ok;
	s->bad = !ok;
	pthread_cond_broadcast(&s->cv);
	while (!s->fn && !s->bad)
		pthread_cond_wait(&s->cv, &s->lock);
	if (s->fn) {
		pthread_mutex_unlock(&s->lock);
		pid_t r = s->fn(s->arg);
		pthread_mutex_lock(&s->lock);
		s->result = r;
	}
	s->done = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A new spawner in slot i (pool_lock held). */
static void refill(int i)
{
	if (!at_exit)
		at_exit = atexit(iv_cgroup_fini) == 0;
	struct spawner *s = calloc(1, sizeof(*s));
	if (!s)
		return;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	snprintf(s->cg, sizeof(s->cg), "%s/intravisor-%d-spawner-%u", base, (int)getpid(),
		 made++);
	/* (signals stay blocked in it: it inherits the caller's mask) */
	if (pthread_create(&s->th, NULL, spawner_main, s)) {
		free(s);
		return;
	}
	pool[i] = s;
}

/* Ends a spawner that has no job (or collects one that did it). */
static void retire(struct spawner *s)
{
	pthread_mutex_lock(&s->lock);
	s->bad = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->th, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* Every empty slot gets a new spawner (pool_lock held). */
static void fill(void)
{
	for (int i = 0; i < POOL; i++)
		if (!pool[i])
			refill(i);
}

/* A spawner out of the pool, its slot refilled: the first one ready, else
 * the first one (to be waited for); NULL if there is none. */
static struct spawner *take(void)
{
	pthread_mutex_lock(&pool_lock);
	fill();
	int at = -1;
	for (int i = 0; i < POOL && at < 0; i++)
		if (pool[i] && __atomic_load_n(&pool[i]->ready, __ATOMIC_ACQUIRE))
			at = i;
	for (int i = 0; i < POOL && at < 0; i++)
		if (pool[i])
			at = i;
	struct spawner *s = at < 0 ? NULL : pool[at];
	if (s) {
		pool[at] = NULL;
		refill(at);
	}
	pthread_mutex_unlock(&pool_lock);
	return s;
}

void iv_cgroup_prepare(void)
{
	if (!usable() || !v1)
		return;
	pthread_mutex_lock(&pool_lock);
	fill();
	pthread_mutex_unlock(&pool_lock);
}

pid_t iv_cgroup_clone(const char *name, uint64_t limit, pid_t (*fn)(void *), void *arg,
		      char *out, size_t outlen)
{
	out[0] = 0;
	if (!limit || !usable())
		return fn(arg);
	struct spawner *s = v1 ? take() : NULL;
	char lim[32];
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)limit);
	if (s) {
		pthread_mutex_lock(&s->lock);
		while (!s->ready && !s->bad)
			pthread_cond_wait(&s->cv, &s->lock);
		int ok = s->ready && write_file(s->cg, limit_file, lim) == 0;
		if (ok) {
			s->fn = fn;
			s->arg = arg;
			pthread_cond_broadcast(&s->cv);
			while (!s->done)
				pthread_cond_wait(&s->cv, &s->lock);
		}
		pid_t r = s->result;
		pthread_mutex_unlock(&s->lock);
		char cg[192];
		snprintf(cg, sizeof(cg), "%s", s->cg);
		retire(s);
		if (ok) {
			/* (not renamed for the cVM: a cgroup's rename took 10 ms here) */
			snprintf(out, outlen, "%s", cg);
			if (r <= 0)
				iv_cgroup_remove(out);
			return r;
		}
		rmdir(cg);
	}
	/* no spawner: made here, then moved (waiting for the move) */
	pid_t r = fn(arg);
	if (r > 0)
		confine(name, limit, r, out, outlen);
	return r;
}

void iv_cgroup_fini(void)
{
	pthread_mutex_lock(&pool_lock);
	for (int i = 0; i < POOL; i++)
		if (pool[i]) {
			char cg[192];
			snprintf(cg, sizeof(cg), "%s", pool[i]->cg);
			retire(pool[i]);
			pool[i] = NULL;
			rmdir(cg);
		}
	pthread_mutex_unlock(&pool_lock);
}

void iv_cgroup_remove(char *cg)
{
	if (cg[0])
		rmdir(cg);
	cg[0] = 0;
}
