/*
 * Memory cgroups for programs.  A program's processes share one limit: the
 * cell is moved into a memory cgroup of its own (made under the monitor's,
 * limited to the cVM's memory), and every process it makes after that is
 * born there.  RLIMIT_AS bounds each process; this bounds them together,
 * a tmpfs's pages included.  cgroup v1's memory hierarchy or cgroup v2;
 * where neither can be used the run says so once and programs are bounded
 * per process only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iv_cell.h"

static char base[160];
static const char *limit_file;
static int state; /* 0 not looked for, 1 usable, -1 not */

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
int iv_cgroup_confine(const char *name, uint64_t limit, pid_t pid, char *out, size_t outlen)
{
	out[0] = 0;
	if (state == 0) {
		state = find_base() ? 1 : -1;
		if (state < 0)
			iv_log("no memory cgroup for programs: each process is bounded alone");
	}
	if (state < 0 || !limit)
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

void iv_cgroup_remove(char *cg)
{
	if (cg[0])
		rmdir(cg);
	cg[0] = 0;
}
