"""Run a module's unittest tests and print one TAP line per test.

    import taprunner; taprunner.main()      (in a test module's __main__)

The project's test harness (tests/run-suite) counts "ok N - name" and
"not ok N - name" lines; unittest's own summary and tracebacks follow them.
Exit status 0 only when every test passed (skips count as passed, marked
"# SKIP" as TAP has it).
"""

import sys
import unittest


class TapResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tap_n = 0

    def _tap(self, ok, test, note=""):
        self.tap_n += 1
        self.stream.writeln("%s %d - %s%s" % ("ok" if ok else "not ok", self.tap_n, test.id(), note))
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._tap(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._tap(False, test)

    def addError(self, test, err):
        super().addError(test, err)
        self._tap(False, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._tap(True, test, " # SKIP %s" % reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._tap(True, test, " # expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._tap(False, test, " # unexpected success")


def main(module="__main__"):
    runner = unittest.TextTestRunner(stream=sys.stdout, resultclass=TapResult, verbosity=0)
    prog = unittest.main(module=module, testRunner=runner, exit=False)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
