/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoff: global options before the command, the command's own after:
 *   vmhandoff [-s|--socket PATH] status [--json]
 *   vmhandoff [-s|--socket PATH] config VM [--push FILE]
 * Errors in the command line exit 2 and name what was wrong.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmhandoff [-s|--socket PATH] status [--json]\n"
		"       vmhandoff [-s|--socket PATH] config VM [--push FILE]\n"
		"       vmhandoff --help | --version\n"
		"\n"
		"Asks the local vmhandoffd what it knows: this node and its quorum, the\n"
		"cluster's nodes, the registry's VMs and their owners, and the migrations\n"
		"this node drives.\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH  vmhandoffd's socket (default " VMH_IPC_DEFAULT_SOCKET ")\n"
		"  -h, --help         show this text\n"
		"  -V, --version      show the version\n"
		"\n"
		"Commands:\n"
		"  status [--json]    the daemon's view, as text or as one JSON object\n"
		"  config VM          the registry's domain XML of VM (what a start boots)\n"
		"  config VM --push FILE\n"
		"                     makes FILE the registry's domain XML of VM (on the\n"
		"                     owner while it runs, on any node while it is stopped)\n"
		"\n"
		"Exit status: 0 ok; 1 the daemon answered an error; 2 bad command line;\n"
		"3 the daemon could not be reached.\n");
}

static int usage_error(void)
{
	fprintf(stderr, "Try 'vmhandoff --help'.\n");
	return CLI_EXIT_USAGE;
}

/* status [--json] */
static int cmd_status(const char *socket_path, int argc, char **argv)
{
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CLI_EXIT_OK;
		} else {
			fprintf(stderr, "vmhandoff: status: %s '%s'\n",
				argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
			return usage_error();
		}
	}
	return cli_status_run(socket_path, json, stdout, stderr);
}

/* config VM [--push FILE] */
static int cmd_config(const char *socket_path, int argc, char **argv)
{
	const char *vm = NULL, *file = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--push") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				fprintf(stderr, "vmhandoff: config: '--push' needs a file\n");
				return usage_error();
			}
			file = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CLI_EXIT_OK;
		} else if (argv[i][0] == '-' || vm) {
			fprintf(stderr, "vmhandoff: config: %s '%s'\n",
				argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
			return usage_error();
		} else {
			vm = argv[i];
		}
	}
	if (!vm) {
		fprintf(stderr, "vmhandoff: config: which VM?\n");
		return usage_error();
	}
	return cli_config_run(socket_path, vm, file, stdout, stderr);
}

/* getopt's error, naming the option as the user wrote it. */
static int option_error(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		fprintf(stderr, "vmhandoff: option '%s' needs an argument\n", arg);
	else if (optopt && strncmp(arg, "--", 2) != 0)
		fprintf(stderr, "vmhandoff: unknown option '-%c'\n", optopt);
	else
		fprintf(stderr, "vmhandoff: unknown option '%s'\n", arg);
	return usage_error();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = NULL;
	int c;

	opterr = 0;	/* our messages, which name the option */
	while ((c = getopt_long(argc, argv, "+:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (optarg[0] == '\0') {
				fprintf(stderr, "vmhandoff: option '--socket' needs a path\n");
				return usage_error();
			}
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("vmhandoff " CLI_VERSION "\n");
			return CLI_EXIT_OK;
		default:
			return option_error(c, argv);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vmhandoff: no command given\n");
		return usage_error();
	}
	if (strcmp(argv[optind], "status") == 0)
		return cmd_status(socket_path, argc - optind, argv + optind);
	if (strcmp(argv[optind], "config") == 0)
		return cmd_config(socket_path, argc - optind, argv + optind);
	fprintf(stderr, "vmhandoff: unknown command '%s'\n", argv[optind]);
	return usage_error();
}
