# packaging/rules.mk - man pages and Debian packages, a fragment included
# from the top-level Makefile (paths relative to the repo top).
#
#   man        build/man/: vmhandoffd.8 and vmhandoff.8 (hand-written roff,
#              man/*.8.in) and ocf_vmhandoff_VirtualDomain.7, generated
#              from ra-metadata/VirtualDomain.xml by man/ra2man.py
#   deb        build/deb/: the source package vmhandoff and its binary
#              packages vmhandoff-agent and vmhandoffd, built by
#              dpkg-buildpackage (debhelper) in build/deb/vmhandoff-VERSION/,
#              a copy of the sources with packaging/debian/ as debian/.
#              DEB_BUILD_OPTIONS=nocheck skips the unit tests of the build.
#   deb-lint   lintian over what `deb` built: fails on errors and warnings,
#              shows the info and pedantic tags
#
# The version is the first entry of packaging/debian/changelog, the single
# place it is kept (packaging/rpm/vmhandoff.spec must say the same;
# tests/deb-check.sh checks it). `make install` installs the man pages
# (MANDIR), the systemd unit (SYSTEMDUNITDIR) and the default
# configuration (SYSCONFDIR, never over an existing one) as well.

packaging_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: man deb deb-lint

VMH_CHANGELOG := packaging/debian/changelog
VMH_VERSION := $(shell awk 'NR == 1 {gsub(/[()]/, "", $$2); print $$2}' $(VMH_CHANGELOG))
# the date of that entry (man pages: reproducible, no build date)
VMH_DATE := $(shell date -u -d "$$(sed -n 's/^ -- .*>  //p' $(VMH_CHANGELOG) | head -n 1)" +%Y-%m-%d 2>/dev/null)

# --- man pages -----------------------------------------------------------

MAN_OUT := build/man
MAN_PAGES := $(MAN_OUT)/vmhandoffd.8 $(MAN_OUT)/vmhandoff.8 \
	$(MAN_OUT)/ocf_vmhandoff_VirtualDomain.7

man: $(MAN_PAGES)

$(MAN_OUT)/%.8: man/%.8.in $(VMH_CHANGELOG)
	@mkdir -p $(@D)
	sed -e 's/@VERSION@/$(VMH_VERSION)/g' -e 's/@DATE@/$(VMH_DATE)/g' $< > $@.tmp
	mv $@.tmp $@

$(MAN_OUT)/ocf_vmhandoff_VirtualDomain.7: man/ra2man.py \
		man/ocf_vmhandoff_VirtualDomain.7.notes $(METADATA) $(VMH_CHANGELOG)
	@mkdir -p $(@D)
	python3 man/ra2man.py --provider vmhandoff --version '$(VMH_VERSION)' \
		--date '$(VMH_DATE)' --notes man/ocf_vmhandoff_VirtualDomain.7.notes \
		$(METADATA) > $@.tmp
	mv $@.tmp $@

# --- Debian packages -----------------------------------------------------

DEB_OUT := build/deb
DEB_TREE := $(DEB_OUT)/vmhandoff-$(VMH_VERSION)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_CHANGES := $(DEB_OUT)/vmhandoff_$(VMH_VERSION)_$(DEB_ARCH).changes

# The tree gets the sources as git sees them (tracked and new files, not
# what .gitignore names, so no build output), or without git every file
# outside build*/ and .git/. The parent make's jobserver is not passed on:
# dpkg-buildpackage runs its own make (-Jauto: as many jobs as cores).
deb:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_TREE)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -co --exclude-standard; \
	else \
		find . \( -path ./.git -o -path './build*' \) -prune -o ! -type d -printf '%P\0'; \
	fi | tar -cf - --null --ignore-failed-read -T - | tar -xf - -C $(DEB_TREE)
	cp -a packaging/debian $(DEB_TREE)/debian
	cd $(DEB_TREE) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -us -uc -Jauto
	@ls -l $(DEB_OUT)/*.deb

deb-lint:
	lintian --fail-on error,warning --display-info --pedantic $(DEB_CHANGES)

.DEFAULT_GOAL := $(packaging_saved_default_goal)
