/* The basic hostcalls: console, exit, identity, arguments, time. */
#ifndef IV_BASIC_H
#define IV_BASIC_H

#include "iv.h"

extern struct iv_feature iv_feature_basic;

#endif
