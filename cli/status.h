/*
 * status - `dumpfleet status` and `dumpfleet retry`: what the broker is
 * doing, and putting quarantined jobs back in its queue.
 */
#ifndef CLI_STATUS_H
#define CLI_STATUS_H

/* `dumpfleet status --broker ENDPOINT [--json]`. */
int status_cmd(int argc, char **argv);

/* `dumpfleet retry --broker ENDPOINT (--all | JOB-ID...)`. */
int status_cmd_retry(int argc, char **argv);

#endif /* CLI_STATUS_H */
