/*
 * Networked cVMs (README "Networking", docs/ARCHITECTURE.md "Networking").
 *
 * A cVM with `net:` gets a network namespace of its own, made when its
 * cell is spawned (the cell joins it before it drops its privileges), or
 * for a fork cloned with it (CLONE_NEWNET) and set up before it runs.  Its
 * loopback is up; with an address it also has eth0, one end of a veth
 * pair whose other end, in the monitor's namespace, holds the gateway
 * address; each pair of cVMs the config lets talk (peers) gets a veth pair
 * between their two namespaces.  Nothing else is routed: the host does not
 * forward what comes from a cVM, a cVM has no route but its own subnet and
 * its peers, and it cannot change its routes (no capability; netlink
 * refused by its filter).  When the cVM ends its host end is removed (the
 * kernel would remove it with the namespace anyway, as it does when the
 * monitor dies).
 *
 * Forwarded ports: the monitor listens on the host's address and port
 * from the start of the run (a port already taken starts nothing) and a
 * thread of its own relays each connection to a socket it makes inside the
 * cVM's namespace, connected to the cVM's address (or its loopback).  The
 * main thread never waits for it but for a lock held while a socket is made.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "tfork/tfork.h"

/* ---- the forwarder ---- */

#define FWD_CONNS 256	/* relayed connections at once; more are closed at once */
#define FWD_BUF	  65536 /* bytes in flight per direction */

/* epoll tags: index << 2 | kind */
enum { TAG_WAKE = 0, TAG_PORT = 1, TAG_SIDE0 = 2, TAG_SIDE1 = 3 };

struct fwd_port {
	int lfd;
	int ns; /* the cVM's namespace while it runs, else -1 (under lock) */
	const char *name;
	struct sockaddr_in to; /* in that namespace */
	int cvm;
};

/* fd[0] the host's client, fd[1] the socket in the cVM; buf[i] holds what
 * was read from fd[i] and is still to be written to the other. */
struct fwd_conn {
	int fd[2];
	char *buf[2];
	size_t len[2], off[2];
	int eof[2], shut[2], connecting;
	uint32_t mask[2];
};

static struct {
	pthread_mutex_t lock;
	pthread_t thread;
	int running, ep, wake;
	struct fwd_port *ports;
	size_t nports;
	struct fwd_conn conns[FWD_CONNS];
} fwd = {.lock = PTHREAD_MUTEX_INITIALIZER, .ep = -1, .wake = -1};

static void conn_close(struct fwd_conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		free(c->buf[i]);
	}
	memset(c, 0, sizeof(*c));
	c->fd[0] = c->fd[1] = -1;
}

static void conn_watch(struct fwd_conn *c, int side, uint32_t want)
{
	if (c->mask[side] == want)
		return;
	struct epoll_event ev = {.events = want,
				 .data.u64 = (uint64_t)(c - fwd.conns) << 2 | (TAG_SIDE0 + side)};
	epoll_ctl(fwd.ep, EPOLL_CTL_MOD, c->fd[side], &ev);
	c->mask[side] = want;
}

/* Moves what it can both ways without waiting; 0, or -1 when the
 * connection is over (closed by the caller). */
static int conn_pump(struct fwd_conn *c)
{
	for (int i = 0; i < 2; i++) {
		int o = 1 - i;
		for (;;) {
			if (c->len[i] == c->off[i] && !c->eof[i]) {
				ssize_t n = recv(c->fd[i], c->buf[i], FWD_BUF, MSG_DONTWAIT);
				if (n < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (n < 0)
					return -1;
				c->len[i] = (size_t)n, c->off[i] = 0;
				c->eof[i] = n == 0;
			}
			if (c->len[i] == c->off[i])
				break;
			ssize_t w = send(c->fd[o], c->buf[i] + c->off[i], c->len[i] - c->off[i],
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (w < 0)
				return -1;
			c->off[i] += (size_t)w;
		}
		if (c->eof[i] && c->len[i] == c->off[i] && !c->shut[o]) {
			shutdown(c->fd[o], SHUT_WR);
			c->shut[o] = 1;
		}
	}
	if (c->shut[0] && c->shut[1])
		return -1;
	for (int i = 0; i < 2; i++)
		conn_watch(c, i,
			   (c->len[i] == c->off[i] && !c->eof[i] ? EPOLLIN : 0) |
				   (c->len[1 - i] > c->off[1 - i] ? EPOLLOUT : 0));
	return 0;
}

/* A client of port p: a socket in the cVM's namespace, connecting. */
static void conn_accept(struct fwd_port *p)
{
	int cfd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	struct fwd_conn *c = NULL;
	for (int i = 0; !c && i < FWD_CONNS; i++)
		if (fwd.conns[i].fd[0] < 0)
			c = &fwd.conns[i];
	pthread_mutex_lock(&fwd.lock);
	int sfd = c && p->ns >= 0 ? iv_net_socket_in(p->ns, AF_INET,
						     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)
				  : -1;
	pthread_mutex_unlock(&fwd.lock);
	if (sfd >= 0 && connect(sfd, (struct sockaddr *)&p->to, sizeof(p->to)) &&
	    errno != EINPROGRESS) {
		close(sfd);
		sfd = -1;
	}
	if (sfd < 0 || !(c->buf[0] = malloc(FWD_BUF)) || !(c->buf[1] = malloc(FWD_BUF))) {
		if (c)
			free(c->buf[0]), c->buf[0] = NULL;
		if (sfd >= 0)
			close(sfd);
		close(cfd); /* (the cVM is not running, or too many connections) */
		return;
	}
	int one = 1;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd[0] = cfd, c->fd[1] = sfd, c->connecting = 1;
	uint64_t idx = (uint64_t)(c - fwd.conns) << 2;
	struct epoll_event e0 = {.events = 0, .data.u64 = idx | TAG_SIDE0};
	struct epoll_event e1 = {.events = EPOLLOUT, .data.u64 = idx | TAG_SIDE1};
	epoll_ctl(fwd.ep, EPOLL_CTL_ADD, cfd, &e0);
	epoll_ctl(fwd.ep, EPOLL_CTL_ADD, sfd, &e1);
	c->mask[0] = 0, c->mask[1] = EPOLLOUT;
}

static void conn_event(struct fwd_conn *c, int side, uint32_t events)
{
	if (c->fd[0] < 0)
		return;
	if (c->connecting) {
		int e = 0;
		socklen_t l = sizeof(e);
		if (side == 0 && !(events & (EPOLLERR | EPOLLHUP)))
			return;
		if (side == 0 || getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &l) || e) {
			conn_close(c);
			return;
		}
		c->connecting = 0;
	}
	if (conn_pump(c))
		conn_close(c);
}

static void *fwd_main(void *arg)
{
	(void)arg;
	struct epoll_event ev[64];
	for (;;) {
		int n = epoll_wait(fwd.ep, ev, 64, -1);
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64, idx = tag >> 2;
			switch (tag & 3) {
			case TAG_WAKE:
				return NULL;
			case TAG_PORT:
				conn_accept(&fwd.ports[idx]);
				break;
			default:
				conn_event(&fwd.conns[idx], (int)(tag & 3) - TAG_SIDE0,
					   ev[i].events);
			}
		}
	}
}

/* The port of cvm's config at line, for messages. */
static int listen_port(const struct iv_run *run, struct iv_cvm_cfg *cfg, int cvm,
		       const struct iv_port_cfg *pc, struct iv_err *err)
{
	struct fwd_port *p = &fwd.ports[fwd.nports];
	struct sockaddr_in at = {.sin_family = AF_INET,
				 .sin_port = htons(pc->host_port),
				 .sin_addr.s_addr = htonl(pc->host_addr)};
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &at.sin_addr, a, sizeof(a));
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&at, sizeof(at)) || listen(fd, 128)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return iv_fail(err, "%s:%d: key 'ports': %s:%u on the host for cVM '%s': %s",
			       run->cfg->path, pc->line, a, pc->host_port, cfg->name,
			       e == EADDRINUSE ? "already taken" : strerror(e));
	}
	*p = (struct fwd_port){fd, -1, cfg->name, {.sin_family = AF_INET}, cvm};
	p->to.sin_port = htons(pc->port);
	p->to.sin_addr.s_addr = htonl(cfg->net.addr ? cfg->net.addr : 0x7f000001);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = fwd.nports << 2 | TAG_PORT};
	fwd.nports++;
	if (epoll_ctl(fwd.ep, EPOLL_CTL_ADD, fd, &ev))
		return iv_fail(err, "network: epoll: %s", strerror(errno));
	return 0;
}

static int fwd_start(struct iv_run *run, struct iv_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < run->ncvms; i++)
		n += run->cvms[i].cfg->net.nports;
	if (n == 0)
		return 0;
	fwd.ports = calloc(n, sizeof(*fwd.ports));
	fwd.ep = epoll_create1(EPOLL_CLOEXEC);
	fwd.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!fwd.ports || fwd.ep < 0 || fwd.wake < 0)
		return iv_fail(err, "network: cannot start the port forwarder: %s",
			       strerror(errno));
	for (int i = 0; i < FWD_CONNS; i++)
		fwd.conns[i].fd[0] = fwd.conns[i].fd[1] = -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
	epoll_ctl(fwd.ep, EPOLL_CTL_ADD, fwd.wake, &ev);
	for (size_t i = 0; i < run->ncvms; i++) {
		struct iv_cvm_cfg *cfg = run->cvms[i].cfg;
		for (size_t k = 0; k < cfg->net.nports; k++)
			if (listen_port(run, cfg, (int)i, &cfg->net.ports[k], err))
				return -1;
	}
	if (pthread_create(&fwd.thread, NULL, fwd_main, NULL))
		return iv_fail(err, "network: cannot start the port forwarder");
	fwd.running = 1;
	return 0;
}

/* cVM number cvm's namespace for its ports (-1: it no longer runs). */
static void fwd_publish(int cvm, int ns)
{
	pthread_mutex_lock(&fwd.lock);
	for (size_t i = 0; i < fwd.nports; i++)
		if (fwd.ports[i].cvm == cvm)
			fwd.ports[i].ns = ns;
	pthread_mutex_unlock(&fwd.lock);
}

static void fwd_stop(void)
{
	if (fwd.running) {
		uint64_t one = 1;
		if (write(fwd.wake, &one, sizeof(one)) == sizeof(one))
			pthread_join(fwd.thread, NULL);
		fwd.running = 0;
	}
	for (int i = 0; fwd.ports && i < FWD_CONNS; i++)
		if (fwd.conns[i].fd[0] >= 0)
			conn_close(&fwd.conns[i]);
	for (size_t i = 0; i < fwd.nports; i++)
		close(fwd.ports[i].lfd);
	free(fwd.ports);
	fwd.ports = NULL;
	fwd.nports = 0;
	if (fwd.ep >= 0)
		close(fwd.ep);
	if (fwd.wake >= 0)
		close(fwd.wake);
	fwd.ep = fwd.wake = -1;
}

/* ---- namespaces and links ---- */

struct netst {
	int ns;			/* its network namespace (0: none yet; fd + 1) */
	char host_if[IFNAMSIZ]; /* the host end of its veth ("" none) */
};

static struct netst *of(struct iv_cvm *cvm)
{
	return iv_state(cvm, &iv_feature_net);
}

static int ns_of(struct iv_cvm *cvm)
{
	return of(cvm)->ns - 1;
}

static int lists(const struct iv_cvm_cfg *a, int b)
{
	for (size_t i = 0; i < a->net.npeers; i++)
		if (a->net.peer[i] == b)
			return 1;
	return 0;
}

/* The links between cvm (whose namespace is new) and its peers that have
 * one: a peer that comes later makes the link itself. */
static int link_peers(struct iv_cvm *cvm, struct iv_err *err)
{
	struct iv_run *run = cvm->run;
	for (size_t j = 0; j < run->ncvms; j++) {
		struct iv_cvm *p = &run->cvms[j];
		if (p == cvm || ns_of(p) < 0 || p->state == IV_CVM_DONE ||
		    !(lists(cvm->cfg, p->id) || lists(p->cfg, cvm->id)))
			continue;
		char a[IFNAMSIZ], b[IFNAMSIZ];
		snprintf(a, sizeof(a), "peer%d", p->id);
		snprintf(b, sizeof(b), "peer%d", cvm->id);
		if (iv_net_link(ns_of(cvm), a, cvm->cfg->net.addr, ns_of(p), b, p->cfg->net.addr,
				err))
			return -1;
	}
	return 0;
}

/* ns (taken) becomes cvm's: its veth and its peers. */
static int give(struct iv_cvm *cvm, int ns, struct iv_err *err)
{
	const struct iv_net_cfg *n = &cvm->cfg->net;
	struct iv_err e;
	of(cvm)->ns = ns + 1;
	if (n->addr) {
		snprintf(of(cvm)->host_if, IFNAMSIZ, "iv%d.%d", (int)getpid() % 10000000, cvm->id);
		if (iv_net_veth(ns, of(cvm)->host_if, n->gateway, n->addr, n->prefix, &e)) {
			of(cvm)->host_if[0] = 0;
			return iv_fail(err, "cVM '%s': %s", cvm->cfg->name, e.msg);
		}
	}
	if (link_peers(cvm, &e))
		return iv_fail(err, "cVM '%s': %s", cvm->cfg->name, e.msg);
	fwd_publish(cvm->id, ns);
	return 0;
}

static int cell(struct iv_cvm *cvm, struct iv_cell_spec *spec, struct iv_err *err)
{
	if (!cvm->cfg->net.on)
		return 0;
	int ns = iv_net_ns_new(err);
	if (ns < 0 || give(cvm, ns, err))
		return -1;
	spec->netns = ns;
	return 0;
}

/* A fork of a networked template was cloned into a namespace of its own. */
static int fork_made(struct iv_cvm *t, struct iv_cvm *f, struct iv_err *err)
{
	(void)t;
	if (!f->cfg->net.on)
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", f->cell.pid);
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return iv_fail(err, "its network namespace: %s", strerror(errno));
	if (iv_net_lo_up(ns, err)) {
		close(ns);
		return -1;
	}
	return give(f, ns, err);
}

static void release(struct iv_cvm *cvm)
{
	struct netst *s = of(cvm);
	if (!s)
		return;
	if (s->ns > 0) {
		fwd_publish(cvm->id, -1);
		close(s->ns - 1);
		s->ns = 0;
	}
	if (s->host_if[0]) {
		iv_net_del(s->host_if);
		s->host_if[0] = 0;
	}
}

static void ended(struct iv_cvm *cvm)
{
	release(cvm);
}

/* Before anything runs: no cVM's subnet may hold an address of the
 * host's (its routes would take that address's traffic). */
static int check_host(const struct iv_run *run, struct iv_err *err)
{
	for (size_t i = 0; i < run->ncvms; i++) {
		const struct iv_cvm_cfg *cfg = run->cvms[i].cfg;
		uint32_t found;
		char ifname[IFNAMSIZ] = "", a[16], b[16];
		if (!cfg->net.addr)
			continue;
		int r = iv_net_host_addr_in(cfg->net.addr, cfg->net.prefix, &found, ifname, err);
		if (r < 0)
			return -1;
		uint32_t x = htonl(cfg->net.addr), y = htonl(found);
		if (r)
			return iv_fail(
				err,
				"%s:%d: key 'address': %s/%d of cVM '%s' overlaps the host's "
				"address %s (%s)",
				run->cfg->path, cfg->net.line, inet_ntop(AF_INET, &x, a, sizeof(a)),
				cfg->net.prefix, cfg->name, inet_ntop(AF_INET, &y, b, sizeof(b)),
				ifname);
	}
	return 0;
}

static int start(struct iv_run *run, struct iv_err *err)
{
	int any = 0;
	for (size_t i = 0; i < run->ncvms; i++)
		any |= run->cvms[i].cfg->net.on;
	if (!any)
		return 0; /* a run without networked cVMs pays nothing */
	static int hooked;
	if (!hooked++)
		iv_tfork_on_fork(fork_made);
	struct iv_plan warm = {0}; /* the networked programs' filter, built now */
	int rc = iv_net_init(err) || check_host(run, err) ||
		 iv_policy_build(&warm, IV_POLICY_PROGRAM | IV_POLICY_NET, err) || fwd_start(run, err);
	free(warm.filter);
	return rc ? -1 : 0;
}

static void stop(struct iv_run *run)
{
	(void)run;
	fwd_stop();
}

struct iv_feature iv_feature_net = {
	.name = "network",
	.cvm_size = sizeof(struct netst),
	.start = start,
	.cell = cell,
	.ended = ended,
	.stop = stop,
	.free = release,
};
