/* Landlock's truncation right (ABI 3, Linux 6.2), for older kernel headers. */
#ifndef IV_LANDLOCK_COMPAT_H
#define IV_LANDLOCK_COMPAT_H

#include <linux/landlock.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

#endif
