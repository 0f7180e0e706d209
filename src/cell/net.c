/*
 * Network namespaces and links of networked cells, made with rtnetlink
 * (libmnl).  A networked cell's namespace has its loopback up and, with an
 * address, an `eth0` that is one end of a veth pair whose other end is in
 * the monitor's own namespace: a point-to-point link (the host end holds
 * the gateway address with the cell's address as its peer, so the host
 * routes exactly that address to it), IPv6 off on both ends (no link-local
 * addresses: the only addresses are those the config gives) and the host
 * end never forwarding (a packet from the cell reaches the host or
 * nothing).  Two cells that may talk get a veth pair between their own
 * namespaces, again point to point: their traffic never crosses the host.
 *
 * Everything here runs on the calling thread: a namespace is entered with
 * setns for the moment a netlink socket is opened in it (a network
 * namespace is per thread), then the thread returns to the monitor's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h> /* (before the kernel's headers) */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iv_cell.h"

#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif
#define IPV4_DEVCONF_FORWARDING_ 1 /* the kernel's IPV4_DEVCONF_FORWARDING */

static int host_ns = -1; /* the monitor's own network namespace */

int iv_net_init(struct iv_err *err)
{
	if (host_ns >= 0)
		return 0;
	host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return host_ns < 0 ? iv_fail(err, "cannot open the monitor's network namespace: %s",
				     strerror(errno))
			   : 0;
}

/* Back to the monitor's namespace; a thread that cannot return must not
 * go on making sockets in a cVM's. */
static void go_home(void)
{
	if (setns(host_ns, CLONE_NEWNET)) {
		iv_log("cannot return to the monitor's network namespace: %s", strerror(errno));
		abort();
	}
}

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

/* A netlink socket in namespace ns (-1: the monitor's). */
static struct mnl_socket *nl_in(int ns)
{
	if (ns < 0)
		return nl_open();
	if (setns(ns, CLONE_NEWNET))
		return NULL;
	struct mnl_socket *nl = nl_open();
	int e = errno;
	go_home();
	errno = e;
	return nl;
}

int iv_net_socket_in(int ns, int domain, int type)
{
	if (setns(ns, CLONE_NEWNET))
		return -1;
	int fd = socket(domain, type, 0);
	int e = errno;
	go_home();
	errno = e;
	return fd;
}

/* Sends one request and waits for its acknowledgement: 0 or -errno. */
static int talk(struct mnl_socket *nl, struct nlmsghdr *h)
{
	static unsigned seq;
	char buf[8192];
	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = ++seq;
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
		return -errno;
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, h->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0
		       ? -errno
		       : 0;
}

static struct nlmsghdr *msg(char *buf, int type, int flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = (uint16_t)type;
	h->nlmsg_flags = (uint16_t)flags;
	return h;
}

static int get_index_cb(const struct nlmsghdr *h, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	*(int *)data = ifi->ifi_index;
	return MNL_CB_OK;
}

/* The index of interface name in nl's namespace: > 0, or -errno. */
static int link_index(struct mnl_socket *nl, const char *name)
{
	char buf[8192];
	struct nlmsghdr *h = msg(buf, RTM_GETLINK, NLM_F_REQUEST);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	h->nlmsg_seq = (unsigned)time(NULL);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
		return -errno;
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	int index = 0;
	if (n < 0 || mnl_cb_run(buf, (size_t)n, 0, 0, get_index_cb, &index) < 0)
		return -errno;
	return index > 0 ? index : -ENODEV;
}

/* Interface index: no IPv6 address of its own making, and (v4) no
 * forwarding of what arrives on it; then up. */
static int link_setup(struct mnl_socket *nl, int index)
{
	char buf[512];
	struct nlmsghdr *h = msg(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	struct nlattr *spec = mnl_attr_nest_start(h, IFLA_AF_SPEC);
	struct nlattr *v6 = mnl_attr_nest_start(h, AF_INET6);
	mnl_attr_put_u8(h, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(h, v6);
	struct nlattr *v4 = mnl_attr_nest_start(h, AF_INET);
	struct nlattr *conf = mnl_attr_nest_start(h, IFLA_INET_CONF);
	mnl_attr_put_u32(h, IPV4_DEVCONF_FORWARDING_, 0);
	mnl_attr_nest_end(h, conf);
	mnl_attr_nest_end(h, v4);
	mnl_attr_nest_end(h, spec);
	int rc = talk(nl, h);
	if (rc)
		return rc;
	h = msg(buf, RTM_NEWLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	return talk(nl, h);
}

/* local/prefix on interface index; with peer, a point-to-point address
 * (the route to peer goes through it). */
static int addr_add(struct mnl_socket *nl, int index, uint32_t local, uint32_t peer, int prefix)
{
	char buf[512];
	struct nlmsghdr *h = msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_index = (uint32_t)index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(h, IFA_LOCAL, htonl(local));
	mnl_attr_put_u32(h, IFA_ADDRESS, htonl(peer ? peer : local));
	return talk(nl, h);
}

/* A veth pair, made from the monitor's namespace: name in namespace ns
 * (-1: the monitor's), peer_name in peer_ns. */
static int veth_new(struct mnl_socket *nl, const char *name, int ns, const char *peer_name,
		    int peer_ns)
{
	char buf[1024];
	struct nlmsghdr *h = msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (ns >= 0)
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)ns);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_ns);
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	return talk(nl, h);
}

static int nl_fail(struct iv_err *err, const char *what, const char *name, int e)
{
	return iv_fail(err, "network: cannot %s %s: %s", what, name, strerror(e < 0 ? -e : e));
}

int iv_net_ns_new(struct iv_err *err)
{
	if (unshare(CLONE_NEWNET))
		return iv_fail(err, "network: cannot make a namespace: %s", strerror(errno));
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	struct mnl_socket *nl = fd >= 0 ? nl_open() : NULL;
	int e = errno;
	go_home();
	int rc = !nl ? -e : link_setup(nl, 1); /* lo is 1 in every namespace */
	if (nl)
		mnl_socket_close(nl);
	if (rc) {
		if (fd >= 0)
			close(fd);
		return nl_fail(err, "bring up", "the loopback of a new namespace", rc);
	}
	return fd;
}

int iv_net_lo_up(int ns, struct iv_err *err)
{
	struct mnl_socket *nl = nl_in(ns);
	int rc = nl ? link_setup(nl, 1) : -errno;
	if (nl)
		mnl_socket_close(nl);
	return rc ? nl_fail(err, "bring up", "the loopback of a fork's namespace", rc) : 0;
}

/* Addresses and up, on interface name in the namespace nl is in. */
static int end_setup(struct mnl_socket *nl, const char *name, uint32_t local, uint32_t peer,
		     int prefix, struct iv_err *err)
{
	int index = link_index(nl, name), rc = index;
	if (index > 0)
		rc = addr_add(nl, index, local, peer, prefix);
	if (rc >= 0)
		rc = link_setup(nl, index);
	return rc < 0 ? nl_fail(err, "set up", name, rc) : 0;
}

int iv_net_veth(int ns, const char *host_if, uint32_t gateway, uint32_t addr, int prefix,
		struct iv_err *err)
{
	struct mnl_socket *host = nl_open(), *in = NULL;
	int rc = host ? veth_new(host, host_if, -1, "eth0", ns) : -errno;
	if (rc) {
		if (host)
			mnl_socket_close(host);
		return nl_fail(err, "make", host_if, rc);
	}
	in = nl_in(ns);
	rc = end_setup(host, host_if, gateway, addr, 32, err);
	if (rc == 0)
		rc = in ? end_setup(in, "eth0", addr, 0, prefix, err)
			: nl_fail(err, "enter the namespace of", host_if, errno);
	if (in)
		mnl_socket_close(in);
	mnl_socket_close(host);
	if (rc)
		iv_net_del(host_if);
	return rc;
}

int iv_net_link(int ns_a, const char *if_a, uint32_t addr_a, int ns_b, const char *if_b,
		uint32_t addr_b, struct iv_err *err)
{
	struct mnl_socket *host = nl_open();
	int rc = host ? veth_new(host, if_a, ns_a, if_b, ns_b) : -errno;
	if (host)
		mnl_socket_close(host);
	if (rc)
		return nl_fail(err, "make", if_a, rc);
	struct mnl_socket *a = nl_in(ns_a), *b = nl_in(ns_b);
	rc = a && b ? 0 : nl_fail(err, "enter the namespace of", if_a, errno);
	if (rc == 0)
		rc = end_setup(a, if_a, addr_a, addr_b, 32, err);
	if (rc == 0)
		rc = end_setup(b, if_b, addr_b, addr_a, 32, err);
	if (a)
		mnl_socket_close(a);
	if (b)
		mnl_socket_close(b);
	return rc; /* (a pair left half set up goes with either namespace) */
}

void iv_net_del(const char *host_if)
{
	char buf[512];
	struct mnl_socket *nl = nl_open();
	if (!nl)
		return;
	struct nlmsghdr *h = msg(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, host_if);
	int rc = talk(nl, h);
	if (rc && rc != -ENODEV)
		iv_log("network: cannot remove %s: %s", host_if, strerror(-rc));
	mnl_socket_close(nl);
}

/* ---- the host's own addresses ---- */

struct addr_walk {
	uint32_t net, mask, found;
	int index;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
		*(uint32_t *)data = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *h, void *data)
{
	struct addr_walk *w = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	uint32_t local = 0;
	if (ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_parse(h, sizeof(*ifa), addr_attr_cb, &local);
	if (!w->found && local && (local & w->mask) == w->net) {
		w->found = local;
		w->index = (int)ifa->ifa_index;
	}
	return MNL_CB_OK;
}

int iv_net_host_addr_in(uint32_t net, int prefix, uint32_t *found, char *ifname, struct iv_err *err)
{
	char buf[16384];
	struct mnl_socket *nl = nl_open();
	if (!nl)
		return iv_fail(err, "network: netlink: %s", strerror(errno));
	struct nlmsghdr *h = msg(buf, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	unsigned seq = h->nlmsg_seq = (unsigned)time(NULL);
	struct addr_walk w = {net, prefix ? ~0U << (32 - prefix) : 0, 0, 0};
	w.net &= w.mask;
	int rc = mnl_socket_sendto(nl, h, h->nlmsg_len) < 0 ? -1 : MNL_CB_OK;
	while (rc > MNL_CB_STOP) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		rc = n < 0 ? -1
			   : mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), addr_cb,
					&w);
	}
	mnl_socket_close(nl);
	if (rc < 0)
		return iv_fail(err, "network: cannot list the host's addresses: %s",
			       strerror(errno));
	*found = w.found;
	if (w.found && ifname && !if_indextoname((unsigned)w.index, ifname))
		snprintf(ifname, IFNAMSIZ, "#%d", w.index);
	return w.found ? 1 : 0;
}
