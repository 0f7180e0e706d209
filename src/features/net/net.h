/*
 * Networked cVMs (the `net:` key, README "Networking"): a network
 * namespace of their own with their loopback up, an address on a veth
 * pair to the host, links to the peers the config names, and TCP ports
 * the monitor forwards from the host.
 */
#ifndef IV_NET_H
#define IV_NET_H

#include "iv.h"

extern struct iv_feature iv_feature_net;

#endif
