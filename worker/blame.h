/*
 * blame - which module a dump is charged to ("caused by").
 *
 * Rules, first that applies:
 *   1. MODULE_NAME stated by !analyze        reason "MODULE_NAME"
 *   2. IMAGE_NAME stated by !analyze         reason "IMAGE_NAME"
 *   3. "Probably caused by : X"              reason "probably-caused-by"
 *   3a. for pool-corruption bugchecks, the owner !pool gives for the
 *      block's tag ("Binary : x.sys"), unless it is the operating
 *      system's                              reason "pool-tag-owner"
 *   4. first crashing-thread frame whose module is not an operating-system
 *      module (worker/data/os-modules.txt)   reason "first-non-os-frame"
 *   5. the top crashing-thread frame's module, when every frame is the
 *      operating system's                    reason "top-frame-os-only"
 *   6. the module holding the crash address  reason "crash-address"
 * a->blame_reason holds the rule's name; nothing is blamed when no rule
 * applies.
 */
#ifndef WORKER_BLAME_H
#define WORKER_BLAME_H

#include <stdbool.h>

struct analysis;

/* Set a->blame_module and a->blame_reason. */
void blame_pick(struct analysis *a);

/*
 * True when MODULE (a base name, with or without path and extension) is
 * listed as an operating-system module.
 */
bool blame_is_os_module(const char *module);

#endif /* WORKER_BLAME_H */
