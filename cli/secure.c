#include "secure.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "diag.h"
#include "log.h"

#define DEFAULT_KEY_BASENAME "dumpfleet"

void secure_opts_init(struct secure_opts *so)
{
	memset(so, 0, sizeof(*so));
}

static int add_list(const char **v, size_t *n, const char *arg)
{
	if (*n >= SECURE_MAX_LISTS)
		return -1;
	v[(*n)++] = arg;
	return 1;
}

int secure_take(struct secure_opts *so, int c, const char *arg)
{
	switch (c) {
	case SECURE_OPT_KEY:
		so->key = arg;
		return 1;
	case SECURE_OPT_BROKER_KEY:
		so->broker_key = arg;
		return 1;
	case SECURE_OPT_ALLOW_WORKERS:
		return add_list(so->allow_workers, &so->nworkers, arg);
	case SECURE_OPT_ALLOW_CLIENTS:
		return add_list(so->allow_clients, &so->nclients, arg);
	case SECURE_OPT_CURVE:
		so->force = true;
		return 1;
	case SECURE_OPT_INSECURE:
		so->insecure = true;
		return 1;
	default:
		return 0;
	}
}

static int usage(const char *cmd, const char *msg, const char *endpoint)
{
	fprintf(stderr, "dumpfleet %s: %s%s\nTry 'dumpfleet %s --help'.\n",
		cmd, msg, endpoint, cmd);
	return DF_EXIT_USAGE;
}

static int load_failed(const char *cmd, const struct diag *d)
{
	fprintf(stderr, "dumpfleet %s: %s\n", cmd, d->msg);
	return d->code == DF_EIO || d->code == DF_ENOMEM ? DF_EXIT_SYSTEM
							  : DF_EXIT_USAGE;
}

int secure_peer_setup(const struct secure_opts *so, const char *cmd,
		      const char *endpoint, struct curve_client *out,
		      const struct curve_client **use)
{
	bool curve = so->force || so->key != NULL || so->broker_key != NULL;
	struct diag d;

	*use = NULL;
	if (!curve && curve_endpoint_exposed(endpoint) && !so->insecure)
		return usage(cmd, "CURVE keys (--key, --broker-key) or "
				  "--insecure are needed for ", endpoint);
	if (!curve && curve_endpoint_exposed(endpoint))
		log_msg(LL_WARN, "event=insecure endpoint=%s", endpoint);
	if (!curve)
		return DF_EXIT_OK;
	if (so->key == NULL || so->broker_key == NULL)
		return usage(cmd, "CURVE needs both --key and --broker-key",
			     "");
	diag_init(&d);
	if (curve_pair_load(&out->self, so->key, &d) != DF_OK ||
	    curve_public_load(out->server, so->broker_key, &d) != DF_OK)
		return load_failed(cmd, &d);
	*use = out;
	return DF_EXIT_OK;
}

static int load_lists(struct curve_keyring *kr, const char *const *v,
		      size_t n, unsigned roles, struct diag *d)
{
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < n; i++)
		rc = curve_keyring_load(kr, v[i], roles, d);
	return rc;
}

int secure_broker_setup(const struct secure_opts *so, const char *endpoint,
			struct curve_pair *kp, const struct curve_pair **use,
			struct curve_keyring **allow)
{
	bool curve = so->force || so->key != NULL || so->nworkers > 0 ||
		     so->nclients > 0;
	struct diag d;

	*use = NULL;
	*allow = NULL;
	if (!curve && curve_endpoint_exposed(endpoint) && !so->insecure)
		return usage("broker", "CURVE keys (--key, --allow-workers, "
				       "--allow-clients) or --insecure are "
				       "needed to bind ", endpoint);
	if (!curve && curve_endpoint_exposed(endpoint))
		log_msg(LL_WARN, "event=insecure endpoint=%s", endpoint);
	if (!curve)
		return DF_EXIT_OK;
	if (so->key == NULL || so->nworkers + so->nclients == 0)
		return usage("broker", "CURVE needs --key and an allow-list "
				       "(--allow-workers, --allow-clients)",
			     "");
	diag_init(&d);
	*allow = curve_keyring_new();
	if (*allow == NULL) {
		fprintf(stderr, "dumpfleet broker: out of memory\n");
		return DF_EXIT_SYSTEM;
	}
	if (curve_pair_load(kp, so->key, &d) != DF_OK ||
	    load_lists(*allow, so->allow_workers, so->nworkers,
		       CURVE_ROLE_WORKER, &d) != DF_OK ||
	    load_lists(*allow, so->allow_clients, so->nclients,
		       CURVE_ROLE_CLIENT, &d) != DF_OK) {
		curve_keyring_destroy(allow);
		return load_failed("broker", &d);
	}
	*use = kp;
	return DF_EXIT_OK;
}

static const char keygen_help[] =
	"Usage: dumpfleet keygen [-o BASENAME]\n"
	"Make a CURVE key pair: BASENAME.key (secret, mode 0600) and\n"
	"BASENAME.pub (public). Existing files are never overwritten.\n"
	"Prints the public key.\n\n"
	"  -o, --output BASENAME  where to write (default: " DEFAULT_KEY_BASENAME
	")\n"
	"  -h, --help             show this help\n";

int secure_cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = DEFAULT_KEY_BASENAME;
	char pub[CURVE_KEY_Z85 + 1];
	struct diag d;
	int c;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o')
			base = optarg;
		else if (c == 'h')
			return fputs(keygen_help, stdout), DF_EXIT_OK;
		else
			return usage("keygen", "invalid option", "");
	}
	if (optind < argc || base[0] == '\0')
		return usage("keygen", "unexpected argument", "");
	diag_init(&d);
	if (curve_keygen(base, pub, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet keygen: %s\n", d.msg);
		return d.code == DF_EEXIST ? DF_EXIT_USAGE : DF_EXIT_SYSTEM;
	}
	printf("%s\n", pub);
	return DF_EXIT_OK;
}
