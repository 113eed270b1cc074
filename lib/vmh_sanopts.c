/*
 * vmh_sanopts.c - where a sanitized build (make SANITIZE=...) reports.
 *
 * The programs of a sanitized build run where no environment of ours
 * reaches them: pacemaker-execd runs the agent, the lab's init runs
 * vmhandoffd, a test runs the CLI as another user. So the sanitizers'
 * defaults are compiled in: every report goes to a file under
 * VMH_SAN_LOG_DIR (named after the program and its pid) instead of a
 * stderr nobody reads, and a test fails when that directory is not empty
 * after its run (tests/san-reports.sh). ASAN_OPTIONS / UBSAN_OPTIONS in
 * the environment still override these.
 *
 * Linked into each program explicitly (Makefile: SAN_OPTS_OBJ): the
 * runtimes define these hooks weakly, so an object in a static library
 * that only defines them would never be pulled in.
 */
#ifdef VMH_SAN_LOG_DIR

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	/* leaks are reported too: vmhandoffd is long-lived */
	return "log_path=" VMH_SAN_LOG_DIR "/asan:log_exe_name=1:detect_leaks=1";
}

/* GCC's UBSan next to ASan ignores log_path and writes to stderr (which
 * lands in pacemaker's log or vmhandoffd's output, where the tests grep for
 * "runtime error:"); halting makes the undefined behaviour fail the test
 * even where nobody reads that stderr. */
const char *__ubsan_default_options(void)
{
	return "log_path=" VMH_SAN_LOG_DIR "/ubsan:log_exe_name=1:print_stacktrace=1:halt_on_error=1";
}

#else
/* an ordinary build: nothing (ISO C wants a declaration in every file) */
typedef int vmh_sanopts_unused;
#endif
