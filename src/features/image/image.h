/* Snapshot images (docs/IMAGE.md): a template written to its snapshot_path
 * when it is frozen; a cVM with resume and snapshot_path restored from it. */
#ifndef IV_IMAGE_H
#define IV_IMAGE_H

#include "iv.h"

extern struct iv_feature iv_feature_image;

#endif
