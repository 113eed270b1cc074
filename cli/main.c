/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoff: global options before the command, the command's own after:
 *   vmhandoff [-s|--socket PATH] status [--json]
 *   vmhandoff [-s|--socket PATH] config VM [--push FILE]
 *   vmhandoff [-s|--socket PATH] history VM [--json]
 *   vmhandoff [-s|--socket PATH] move VM NODE [--wait] [--timeout S] [--clear-after]
 *                                             [--resource RSC]
 *   vmhandoff [-s|--socket PATH] drain NODE [--wait] [--timeout S] | undrain NODE
 * Errors in the command line exit 2 and name what was wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmhandoff [-s|--socket PATH] status [--json]\n"
		"       vmhandoff [-s|--socket PATH] config VM [--push FILE]\n"
		"       vmhandoff [-s|--socket PATH] history VM [--json]\n"
		"       vmhandoff [-s|--socket PATH] move VM NODE [--wait] [--timeout S]\n"
		"                 [--clear-after] [--resource RSC]\n"
		"       vmhandoff [-s|--socket PATH] drain NODE [--wait] [--timeout S]\n"
		"       vmhandoff [-s|--socket PATH] undrain NODE\n"
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
		"  history VM [--json]\n"
		"                     the migrations of VM this node's vmhandoffd has seen:\n"
		"                     when, from, to, duration, activation gap, bytes,\n"
		"                     outcome; one line each, or one JSON object\n"
		"  move VM NODE       crm_resource --move of VM's resource (RSC, default VM)\n"
		"                     to NODE; --wait follows the handoff in the registry\n"
		"                     until VM runs on NODE (--timeout, default 300 s);\n"
		"                     --clear-after removes the move constraint once\n"
		"                     pacemaker has settled (implies --wait)\n"
		"  drain NODE         crm_standby NODE on; --wait shows every VM leaving\n"
		"                     until none is on NODE (--timeout, default 600 s)\n"
		"  undrain NODE       crm_standby NODE off\n"
		"\n"
		"Exit status: 0 ok; 1 the daemon answered an error; 2 bad command line;\n"
		"3 the daemon could not be reached.\n");
}

static int usage_error(void)
{
	fprintf(stderr, "Try 'vmhandoff --help'.\n");
	return CLI_EXIT_USAGE;
}

/*
 * An argument none of cmd's own options took: -h/--help prints the usage
 * (returns 1), else the one positional argument into *slot if cmd takes
 * one and it is still empty (0), else an error is said (-1). The
 * caller's exit status then: other_arg_exit().
 */
static int other_arg(const char *cmd, const char *arg, const char **slot)
{
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		usage(stdout);
		return 1;
	}
	if (arg[0] == '-' || !slot || *slot) {
		fprintf(stderr, "vmhandoff: %s: %s '%s'\n", cmd,
			arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
		return -1;
	}
	*slot = arg;
	return 0;
}

static int other_arg_exit(int r)
{
	return r > 0 ? CLI_EXIT_OK : usage_error();
}

/* status [--json] */
static int cmd_status(const char *socket_path, int argc, char **argv)
{
	bool json = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if ((r = other_arg("status", argv[i], NULL)) != 0)
			return other_arg_exit(r);
	}
	return cli_status_run(socket_path, json, stdout, stderr);
}

/* config VM [--push FILE] */
static int cmd_config(const char *socket_path, int argc, char **argv)
{
	const char *vm = NULL, *file = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--push") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				fprintf(stderr, "vmhandoff: config: '--push' needs a file\n");
				return usage_error();
			}
			file = argv[++i];
		} else if ((r = other_arg("config", argv[i], &vm)) != 0) {
			return other_arg_exit(r);
		}
	}
	if (!vm) {
		fprintf(stderr, "vmhandoff: config: which VM?\n");
		return usage_error();
	}
	return cli_config_run(socket_path, vm, file, stdout, stderr);
}

/* history VM [--json] */
static int cmd_history(const char *socket_path, int argc, char **argv)
{
	const char *vm = NULL;
	bool json = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if ((r = other_arg("history", argv[i], &vm)) != 0)
			return other_arg_exit(r);
	}
	if (!vm) {
		fprintf(stderr, "vmhandoff: history: which VM?\n");
		return usage_error();
	}
	return cli_history_run(socket_path, vm, json, stdout, stderr);
}

/* "--timeout S": 1..86400 seconds into *out; false after saying why. */
static bool parse_timeout(const char *cmd, const char *arg, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = arg ? strtoul(arg, &end, 10) : 0;
	if (!arg || errno || *end || end == arg || v < 1 || v > 86400 || arg[0] == '-') {
		fprintf(stderr, "vmhandoff: %s: '--timeout' needs seconds, 1 to 86400 (got '%s')\n",
			cmd, arg ? arg : "");
		return false;
	}
	*out = (unsigned)v;
	return true;
}

/* move VM NODE [--wait] [--timeout S] [--clear-after] [--resource RSC] */
static int cmd_move(const char *socket_path, int argc, char **argv)
{
	struct cli_move_opts o = { .timeout_s = 300 };
	const char *pos[2] = { NULL, NULL };
	int n_pos = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0) {
			o.wait = true;
		} else if (strcmp(argv[i], "--clear-after") == 0) {
			o.clear_after = true;
		} else if (strcmp(argv[i], "--timeout") == 0) {
			if (!parse_timeout("move", i + 1 < argc ? argv[++i] : NULL, &o.timeout_s))
				return usage_error();
		} else if (strcmp(argv[i], "--resource") == 0 && i + 1 < argc && argv[i + 1][0]) {
			o.resource = argv[++i];
		} else if (argv[i][0] == '-' || n_pos == 2) {
			fprintf(stderr, "vmhandoff: move: %s '%s'\n",
				argv[i][0] == '-' ? "unknown option (or one without its value)" :
				"unexpected argument", argv[i]);
			return usage_error();
		} else {
			pos[n_pos++] = argv[i];
		}
	}
	if (n_pos != 2) {
		fprintf(stderr, "vmhandoff: move: needs VM and NODE\n");
		return usage_error();
	}
	o.vm = pos[0];
	o.node = pos[1];
	if (!o.resource)
		o.resource = o.vm;
	return cli_move_run(socket_path, &o, stdout, stderr);
}

/* drain NODE [--wait] [--timeout S] / undrain NODE */
static int cmd_drain(const char *socket_path, bool drain, int argc, char **argv)
{
	const char *node = NULL;
	unsigned timeout_s = 600;
	bool wait = false;

	for (int i = 1; i < argc; i++) {
		if (drain && strcmp(argv[i], "--wait") == 0) {
			wait = true;
		} else if (drain && strcmp(argv[i], "--timeout") == 0) {
			if (!parse_timeout(argv[0], i + 1 < argc ? argv[++i] : NULL, &timeout_s))
				return usage_error();
		} else if (argv[i][0] == '-' || node) {
			fprintf(stderr, "vmhandoff: %s: %s '%s'\n", argv[0],
				argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
			return usage_error();
		} else {
			node = argv[i];
		}
	}
	if (!node) {
		fprintf(stderr, "vmhandoff: %s: which node?\n", argv[0]);
		return usage_error();
	}
	return cli_drain_run(socket_path, node, drain, wait, timeout_s, stdout, stderr);
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
	if (strcmp(argv[optind], "history") == 0)
		return cmd_history(socket_path, argc - optind, argv + optind);
	if (strcmp(argv[optind], "move") == 0)
		return cmd_move(socket_path, argc - optind, argv + optind);
	if (strcmp(argv[optind], "drain") == 0 || strcmp(argv[optind], "undrain") == 0)
		return cmd_drain(socket_path, strcmp(argv[optind], "drain") == 0, argc - optind,
				 argv + optind);
	fprintf(stderr, "vmhandoff: unknown command '%s'\n", argv[optind]);
	return usage_error();
}
