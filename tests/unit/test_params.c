/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parameter parsing: VirtualDomain's names and defaults, strict types,
 * unknown and unsupported parameters rejected by name; and the parameter
 * table agrees with the metadata both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "vmh_params.h"

static int parse(struct vmh_params *p, struct vmh_params_errors *e, char **env)
{
	return vmh_params_parse(p, env, e);
}

static void test_defaults(void **state)
{
	char *env[] = { "OCF_RESKEY_config=/etc/libvirt/vm1.xml", "PATH=/bin", NULL };
	struct vmh_params p;
	struct vmh_params_errors e;

	(void)state;
	assert_int_equal(parse(&p, &e, env), 0);
	assert_string_equal(p.config, "/etc/libvirt/vm1.xml");
	assert_null(p.hypervisor);
	assert_false(p.force_stop);
	assert_true(p.autoset_utilization_cpu);
	assert_true(p.autoset_utilization_hv_memory);
	assert_int_equal(p.migration_abort_after, 10);
	assert_int_equal(p.migration_speed, 0);
	assert_true(p.registry);
	assert_string_equal(p.registry_socket, "/run/vmhandoff/vmhandoffd.sock");
	assert_true(p.require_fencing);
	vmh_params_free(&p);
}

static void test_virtualdomain_params(void **state)
{
	char *env[] = {
		"OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_hypervisor=qemu:///system",
		"OCF_RESKEY_force_stop=true", "OCF_RESKEY_migration_transport=tcp",
		"OCF_RESKEY_migration_user=root", "OCF_RESKEY_migration_downtime=300",
		"OCF_RESKEY_migration_speed=100", "OCF_RESKEY_migration_network_suffix=-mig",
		"OCF_RESKEY_migrateport=49160", "OCF_RESKEY_shutdown_mode=acpi,agent",
		"OCF_RESKEY_migrate_options=--unsafe --migrateuri=tcp://%n:1234",
		"OCF_RESKEY_CRM_meta_timeout=20000", "OCF_RESKEY_crm_feature_set=3.16.2",
		NULL };
	struct vmh_params p;
	struct vmh_params_errors e;

	(void)state;
	assert_int_equal(parse(&p, &e, env), 0);
	assert_true(p.force_stop);
	assert_string_equal(p.migration_transport, "tcp");
	assert_int_equal(p.migration_downtime, 300);
	assert_int_equal(p.migration_speed, 100);
	assert_int_equal(p.migrateport, 49160);
	assert_int_equal(p.shutdown_flags,
			 VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN | VIR_DOMAIN_SHUTDOWN_GUEST_AGENT);
	assert_int_equal(p.migrate_option_flags, VIR_MIGRATE_UNSAFE);
	assert_string_equal(p.migrate_options_uri, "tcp://%n:1234");
	vmh_params_free(&p);
}

static void expect_error(char **env, const char *name, const char *fragment)
{
	struct vmh_params p;
	struct vmh_params_errors e;

	assert_int_equal(parse(&p, &e, env), -22);
	assert_string_equal(e.first_name, name);
	if (!strstr(e.text, fragment))
		fail_msg("error text '%s' lacks '%s'", e.text, fragment);
	vmh_params_free(&p);
}

static void test_bad_values_named(void **state)
{
	char *unknown[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_frobnicate=1", NULL };
	char *badint[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_speed=fast", NULL };
	char *neg[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_downtime=-5", NULL };
	char *range[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migrateport=70000", NULL };
	char *badbool[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_force_stop=maybe", NULL };
	char *relcfg[] = { "OCF_RESKEY_config=vm.xml", NULL };
	char *nocfg[] = { "OCF_RESKEY_force_stop=1", NULL };
	char *csync[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_sync_config_on_stop=true", NULL };
	char *backing[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_backingfile=/b.qcow2", NULL };
	char *snapforce[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_force_stop=1",
			      "OCF_RESKEY_snapshot=/var/snap", NULL };
	char *mode[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_shutdown_mode=acpi,hard", NULL };
	char *opts[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migrate_options=--unsafe --tunnelled", NULL };
	char *cidr[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_network=198.18.1.0/33", NULL };
	char *comp[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_compression=zstd,lz4", NULL };
	char *user[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_user=Root;rm", NULL };
	char *transport[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_transport=tcp;x", NULL };
	char *script[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_monitor_scripts=check.sh", NULL };
	char *badreg[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_registry=sometimes", NULL };
	char *relsock[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_registry_socket=vmh.sock", NULL };
	char *longsock[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_registry_socket=/run/"
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", NULL };
	char *badfence[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_require_fencing=2", NULL };

	(void)state;
	expect_error(unknown, "frobnicate", "unknown parameter");
	expect_error(badint, "migration_speed", "not a non-negative integer");
	expect_error(neg, "migration_downtime", "not a non-negative integer");
	expect_error(range, "migrateport", "out of range");
	expect_error(badbool, "force_stop", "not a boolean");
	expect_error(relcfg, "config", "not an absolute path");
	expect_error(nocfg, "config", "required");
	expect_error(csync, "sync_config_on_stop", "not supported");
	expect_error(backing, "backingfile", "not supported");
	expect_error(snapforce, "snapshot", "force_stop");
	expect_error(mode, "shutdown_mode", "hard");
	expect_error(opts, "migrate_options", "--tunnelled");
	expect_error(cidr, "migration_network", "not a CIDR");
	expect_error(comp, "migration_compression", "lz4");
	expect_error(user, "migration_user", "not a user name");
	expect_error(transport, "migration_transport", "characters");
	expect_error(script, "monitor_scripts", "absolute");
	expect_error(badreg, "registry", "not a boolean");
	expect_error(relsock, "registry_socket", "absolute path");
	expect_error(longsock, "registry_socket", "at most 107 bytes");
	expect_error(badfence, "require_fencing", "not a boolean");
}

static void test_all_errors_reported(void **state)
{
	char *env[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_speed=x",
			"OCF_RESKEY_force_stop=x", NULL };
	struct vmh_params p;
	struct vmh_params_errors e;

	(void)state;
	assert_int_equal(parse(&p, &e, env), -22);
	assert_int_equal(e.count, 2);
	assert_non_null(strstr(e.text, "migration_speed"));
	assert_non_null(strstr(e.text, "force_stop"));
	vmh_params_free(&p);
}

static void test_registry_params(void **state)
{
	char *env[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_registry=false",
			"OCF_RESKEY_registry_socket=/tmp/vmh.sock", "OCF_RESKEY_require_fencing=no",
			NULL };
	/* registry=false: post-copy is the user's choice again */
	char *postcopy[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_registry=0",
			     "OCF_RESKEY_migration_postcopy=true",
			     "OCF_RESKEY_migrate_options=--postcopy", NULL };
	struct vmh_params p;
	struct vmh_params_errors e;

	(void)state;
	assert_int_equal(parse(&p, &e, env), 0);
	assert_false(p.registry);
	assert_string_equal(p.registry_socket, "/tmp/vmh.sock");
	assert_false(p.require_fencing);
	vmh_params_free(&p);
	assert_int_equal(parse(&p, &e, postcopy), 0);
	assert_true(p.migration_postcopy);
	vmh_params_free(&p);
}

/* The destination must stay paused until the registry commits: post-copy
 * (by parameter or migrate_options) and registry=true exclude each other,
 * and the error names both. */
static void test_registry_refuses_postcopy(void **state)
{
	char *bydefault[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_migration_postcopy=1", NULL };
	char *explicit[] = { "OCF_RESKEY_config=/vm.xml", "OCF_RESKEY_registry=true",
			     "OCF_RESKEY_migration_postcopy=true", NULL };
	char *option[] = { "OCF_RESKEY_config=/vm.xml",
			   "OCF_RESKEY_migrate_options=--unsafe --postcopy", NULL };

	(void)state;
	expect_error(bydefault, "migration_postcopy", "registry=true");
	expect_error(explicit, "migration_postcopy", "registry=true");
	expect_error(option, "migrate_options", "registry=true");
}

static void test_booleans(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(vmh_parse_bool("TRUE", &b), 0);
	assert_true(b);
	assert_int_equal(vmh_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_not_equal(vmh_parse_bool("", &b), 0);
	assert_int_not_equal(vmh_parse_bool("2", &b), 0);
}

/* Every parameter in the metadata is known to the parser, and every
 * parameter the parser knows is documented. */
static void test_table_matches_metadata(void **state)
{
	xmlDocPtr doc = xmlReadFile(VMH_METADATA_PATH, NULL, XML_PARSE_NONET);
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr obj;
	size_t known = 0;

	(void)state;
	assert_non_null(doc);
	ctx = xmlXPathNewContext(doc);
	obj = xmlXPathEvalExpression((const xmlChar *)"//parameters/parameter/@name", ctx);
	assert_non_null(obj);
	while (vmh_param_name(known))
		known++;
	assert_int_equal((size_t)obj->nodesetval->nodeNr, known);
	for (int i = 0; i < obj->nodesetval->nodeNr; i++) {
		xmlChar *name = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
		bool found = false;

		for (size_t k = 0; k < known; k++)
			if (strcmp(vmh_param_name(k), (const char *)name) == 0)
				found = true;
		if (!found)
			fail_msg("metadata parameter %s unknown to the parser", name);
		xmlFree(name);
	}
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_virtualdomain_params),
		cmocka_unit_test(test_bad_values_named),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_registry_params),
		cmocka_unit_test(test_registry_refuses_postcopy),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_table_matches_metadata),
	};

	return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}
